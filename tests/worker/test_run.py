"""Enqueue → worker → events → results, with the fake engine (and once with the real tiny engine)."""

from __future__ import annotations

import io
import json

import pytest
import redis
from PIL import Image
from rq import Queue
from rq.serializers import JSONSerializer

from tests.worker import fakes
from tests.worker.helpers import drain, make_spec, types
from worker import keys
from worker.engine import OUT_OF_MEMORY, ErrorCode
from worker.events import EventLog, EventType
from worker.queue import EnqueueError, JobQueue, JobState
from worker.settings import QueueSettings
from worker.spec import Mode
from worker.store import RedisStore, split_ref
from worker.tasks import INTERNAL_ERROR


@pytest.fixture(autouse=True)
def _reset_loads():
    fakes.FakeEngine.loads = 0


def test_job_runs_and_reports_in_order(settings: QueueSettings, connection: redis.Redis) -> None:
    """An enqueued job runs once and its events come queued → started → progress → done with readable images."""
    queue = JobQueue(connection, settings)
    spec = make_spec()
    position = queue.enqueue(spec)
    assert position.state is JobState.QUEUED and position.ahead == 0
    assert drain(settings) == 1

    events = EventLog(connection).history(spec.id)
    assert types(events) == ["queued", "started", "progress", "done"]
    assert all(e.user_id == 1 and e.channel_id == 10 and e.guild_id == 20 for e in events)
    progress = [e for e in events if e.type is EventType.PROGRESS]
    assert [p.data["percent"] for p in progress] == [25, 50, 75, 100]
    assert any("preview" in p.data for p in progress)
    done = events[-1].data
    assert sorted(done["files"]) == sorted(f"{spec.id}/{n}" for n in ("grid.png", "1.png", "2.png", "3.png", "4.png"))
    store = RedisStore(connection, settings.image_ttl_s)
    cell = Image.open(io.BytesIO(store.get(*split_ref(f"{spec.id}/2.png"))))
    assert cell.getpixel((0, 0)) == fakes.colour(spec.seed, 1)
    assert queue.position(spec.id).state is JobState.DONE
    assert 0 < connection.ttl(keys.image(spec.id, "grid.png")) <= settings.image_ttl_s
    assert connection.ttl(keys.spec(spec.id)) > settings.image_ttl_s  # specs outlive images


def test_one_model_load_for_many_jobs(settings: QueueSettings, connection: redis.Redis) -> None:
    """A worker loads the engine once and runs every job with it."""
    queue = JobQueue(connection, settings)
    specs = [make_spec(seed=i, user_id=i) for i in range(6)]
    for spec in specs:
        queue.enqueue(spec)
    assert drain(settings) == 6
    assert fakes.FakeEngine.loads == 1
    assert all(EventLog(connection).outcome(s.id)["status"] == "done" for s in specs)


def test_fast_jobs_are_served_before_relax(settings: QueueSettings, connection: redis.Redis) -> None:
    """With both queues full, a worker takes every fast job before any relax job."""
    queue = JobQueue(connection, settings)
    relax = [make_spec(user_id=i, mode=Mode.RELAX) for i in range(2)]
    fast = [make_spec(user_id=10 + i, mode=Mode.FAST) for i in range(2)]
    for spec in relax + fast:
        queue.enqueue(spec)
    assert queue.position(relax[0].id).ahead == 2  # both fast jobs go first
    engine = fakes.FakeEngine()
    drain(settings, engine=engine)
    assert engine.runs == [s.id for s in fast + relax]


def test_worker_serves_only_its_queues(settings: QueueSettings, connection: redis.Redis) -> None:
    """A worker pointed at the fast queue leaves relax jobs queued."""
    queue = JobQueue(connection, settings)
    fast, relax = make_spec(user_id=1), make_spec(user_id=2, mode=Mode.RELAX)
    queue.enqueue(fast)
    queue.enqueue(relax)
    assert drain(settings, modes=[Mode.FAST]) == 1
    assert queue.position(fast.id).state is JobState.DONE
    assert queue.position(relax.id).state is JobState.QUEUED


@pytest.mark.parametrize(
    ("prompt", "reason", "code"),
    [
        ("engine-error", "That prompt cannot be drawn.", ErrorCode.BAD_INPUT),
        ("crash", INTERNAL_ERROR, ErrorCode.INTERNAL),
        ("oom", OUT_OF_MEMORY, ErrorCode.OOM),
    ],
)
def test_engine_failures_reach_the_user_as_reasons(
    settings: QueueSettings, connection: redis.Redis, prompt: str, reason: str, code: ErrorCode
) -> None:
    """Engine errors, crashes and out-of-memory end in one failed event with a reason and a code, no traceback."""
    queue = JobQueue(connection, settings)
    spec = make_spec(prompt)
    queue.enqueue(spec)
    drain(settings)
    events = EventLog(connection).history(spec.id)
    assert types(events) == ["queued", "started", "failed"]
    assert events[-1].data == {"reason": reason, "code": code}
    assert "Traceback" not in json.dumps(events[-1].data)
    assert queue.admission.in_flight(1) == 0


def test_bad_spec_fails_fast(settings: QueueSettings, connection: redis.Redis) -> None:
    """A spec of an unknown version or with out-of-range values fails before the engine with a clear reason."""
    good = json.loads(make_spec().to_json())
    bad_version = {**good, "version": 99}
    bad_steps = {**good, "id": "b" * 32, "steps": 5000}
    rq_queue = Queue(keys.queue_name("fake", Mode.FAST), connection=connection, serializer=JSONSerializer)
    for raw in (bad_version, bad_steps):
        rq_queue.enqueue(keys.TASK, json.dumps(raw), job_id=raw["id"])
    engine = fakes.FakeEngine()
    drain(settings, engine=engine)
    assert engine.runs == []
    log = EventLog(connection)
    first, second = log.history(good["id"]), log.history("b" * 32)
    assert [e.type for e in first] == [EventType.FAILED] and "version 99" in first[0].data["reason"]
    assert first[0].user_id == good["requester"]["user_id"]
    assert "steps" in second[0].data["reason"]
    assert first[0].data["code"] == second[0].data["code"] == ErrorCode.BAD_INPUT


def test_missing_parent_is_refused_at_enqueue(settings: QueueSettings, connection: redis.Redis) -> None:
    """A follow-up naming a parent whose spec is gone is refused at once."""
    from worker.spec import JobKind, Parent, Strength

    spec = make_spec(kind=JobKind.VARIATION, parent=Parent(job_id="f" * 32, index=1), strength=Strength.STRONG)
    with pytest.raises(EnqueueError) as info:
        JobQueue(connection, settings).enqueue(spec)
    assert info.value.reason == "parent_expired"


def test_job_timeout_fails_with_reason(settings: QueueSettings, connection: redis.Redis) -> None:
    """A job running past the configured timeout is stopped and fails with a reason naming the limit, code timeout."""
    settings = settings.model_copy(update={"job_timeout_s": 1})
    engine = fakes.FakeEngine()
    engine.step_s = 0.5
    queue = JobQueue(connection, settings)
    spec = make_spec(steps=6)
    queue.enqueue(spec)
    drain(settings, engine=engine)
    outcome = EventLog(connection).outcome(spec.id)
    reason = "The job took longer than 1 seconds and was stopped."
    assert outcome == {"status": "failed", "reason": reason, "code": ErrorCode.TIMEOUT}


@pytest.mark.slow
def test_real_engine_end_to_end(settings: QueueSettings, connection: redis.Redis, monkeypatch) -> None:
    """The real engine (the bundled demo model) runs a queued job through the worker: events, four cells, a grid."""
    from models.engine import Engine  # the diffusion side is imported only by the tests that run it

    monkeypatch.setenv("IMAGINE_DEVICE", "cpu")
    monkeypatch.setenv("IMAGINE_MODEL", "demo")
    monkeypatch.setenv("IMAGINE_STEPS", "2")
    engine = Engine.load()
    queue = JobQueue(connection, settings)
    spec = make_spec(steps=2, model="demo")
    queue.enqueue(spec)
    drain(settings, engine=engine)
    events = EventLog(connection).history(spec.id)
    assert types(events)[:2] == ["queued", "started"] and events[-1].type is EventType.DONE, events[-1].data
    names = {ref.split("/")[1].split(".")[0] for ref in events[-1].data["files"]}
    assert names == {"grid", "1", "2", "3", "4"}


def test_job_run_again_after_done_delivers_nothing_twice(settings: QueueSettings, connection: redis.Redis) -> None:
    """A job that RQ runs again after its done was written (a late crash, a retry) neither reruns nor re-reports."""
    queue = JobQueue(connection, settings)
    spec = make_spec()
    queue.enqueue(spec)
    drain(settings)
    rq_queue = Queue(keys.queue_name("fake", Mode.FAST), connection=connection, serializer=JSONSerializer)
    rq_queue.enqueue_call(keys.TASK, args=(spec.to_json(),), job_id=spec.id)  # as a retry would
    engine = fakes.FakeEngine()
    assert drain(settings, engine=engine) == 1
    assert engine.runs == []
    assert [e.type for e in EventLog(connection).history(spec.id)].count(EventType.DONE) == 1


def test_redis_failing_while_files_are_stored_runs_the_job_again(
    settings: QueueSettings, connection: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis gone while a finished job stores its images is not the job's failure: it runs again and ends done."""
    from worker.store import RedisStore

    put = RedisStore.put
    failures = iter([redis.exceptions.ConnectionError("Connection closed by server.")])

    def flaky_put(self: RedisStore, job_id: str, name: str, data: bytes) -> str:
        if name.startswith("grid.") and (error := next(failures, None)) is not None:
            raise error
        return put(self, job_id, name, data)

    monkeypatch.setattr(RedisStore, "put", flaky_put)
    settings = settings.model_copy(update={"max_retries": 1})
    spec = make_spec()
    JobQueue(connection, settings).enqueue(spec)
    engine = fakes.FakeEngine()
    drain(settings, engine=engine)
    events = EventLog(connection).history(spec.id)
    assert [e.type for e in events if e.terminal] == [EventType.DONE], events[-1].data
    assert len(engine.runs) == 2  # the second run stored its images

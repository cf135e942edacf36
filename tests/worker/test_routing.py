"""A queue per model and mode: jobs go to their model's queue, workers serve only their own model's queues."""

from __future__ import annotations

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from tests.worker import fakes
from tests.worker.helpers import drain, make_spec
from worker import keys
from worker.engine import ErrorCode
from worker.events import EventLog
from worker.queue import JobQueue, JobState, Position, rq_queue
from worker.recovery import LostJobs
from worker.settings import QueueSettings
from worker.spec import Mode


def test_queue_names_round_trip() -> None:
    """queue_name and parse_queue_name agree, even for hub ids and paths; other names are not ours."""
    for model in ("demo", "stabilityai/stable-diffusion-xl-base-1.0", "/models/a:b"):
        for mode in Mode:
            assert keys.parse_queue_name(keys.queue_name(model, mode)) == (model, mode)
    for other in ("imagine-fast", "imagine::fast", "imagine:demo:turbo", "default"):
        assert keys.parse_queue_name(other) is None


def test_jobs_are_routed_by_model_and_mode(connection: redis.Redis, settings: QueueSettings) -> None:
    """Each job lands in the queue of its model and mode; positions count only jobs of the same model."""
    queue = JobQueue(connection, settings)
    a1, b1 = make_spec(user_id=1), make_spec(user_id=2, model="other")
    a2 = make_spec(user_id=3, mode=Mode.RELAX)
    b2 = make_spec(user_id=4, model="other", mode=Mode.RELAX)
    for spec in (a1, b1, a2, b2):
        queue.enqueue(spec)
    assert rq_queue(connection, "fake", Mode.FAST).job_ids == [a1.id]
    assert rq_queue(connection, "fake", Mode.RELAX).job_ids == [a2.id]
    assert rq_queue(connection, "other", Mode.FAST).job_ids == [b1.id]
    assert rq_queue(connection, "other", Mode.RELAX).job_ids == [b2.id]
    # A relax job waits behind its own model's fast jobs only.
    assert queue.position(a2.id) == Position(JobState.QUEUED, 1)
    assert queue.position(b2.id) == Position(JobState.QUEUED, 1)
    assert queue.cancel(b1.id) is JobState.CANCELLED
    assert queue.position(b2.id) == Position(JobState.QUEUED, 0)


def test_a_worker_serves_only_its_models_queues(connection: redis.Redis, settings: QueueSettings) -> None:
    """A worker of model "fake" runs fake's jobs and leaves "other"'s queued for a worker of that model."""
    queue = JobQueue(connection, settings)
    mine, theirs = make_spec(user_id=1), make_spec(user_id=2, model="other")
    queue.enqueue(mine)
    queue.enqueue(theirs)
    engine = fakes.FakeEngine()
    assert drain(settings, engine=engine) == 1
    assert engine.runs == [mine.id]
    assert queue.position(theirs.id) == Position(JobState.QUEUED, 0)
    other = fakes.OtherEngine()
    assert drain(settings, engine=other) == 1
    assert other.runs == [theirs.id]
    assert EventLog(connection).outcome(theirs.id)["status"] == "done"


def test_queues_fast_serves_only_its_models_fast_queue(connection: redis.Redis, settings: QueueSettings) -> None:
    """`--queues fast` still works per model: the fast job of this worker's model runs, its relax job waits."""
    queue = JobQueue(connection, settings)
    fast, relax = make_spec(user_id=1), make_spec(user_id=2, mode=Mode.RELAX)
    queue.enqueue(fast)
    queue.enqueue(relax)
    engine = fakes.FakeEngine()
    assert drain(settings, engine=engine, modes=[Mode.FAST]) == 1
    assert engine.runs == [fast.id] and rq_queue(connection, "fake", Mode.RELAX).job_ids == [relax.id]


def test_a_spec_for_another_model_is_refused_as_unsupported(connection: redis.Redis, settings: QueueSettings) -> None:
    """A stray spec for another model in this worker's queue fails (code unsupported) without reaching the engine."""
    stray = make_spec(model="sdxl")
    JobQueue(connection, settings).admission.admit(1, stray.id)
    Queue(keys.queue_name("fake", Mode.FAST), connection=connection, serializer=JSONSerializer).enqueue_call(
        keys.TASK, args=(stray.to_json(),), job_id=stray.id
    )
    engine = fakes.FakeEngine()
    drain(settings, engine=engine)
    assert engine.runs == []
    outcome = EventLog(connection).outcome(stray.id)
    assert outcome == {
        "status": "failed",
        "reason": "This worker runs model fake, not sdxl.",
        "code": ErrorCode.UNSUPPORTED,
    }


def test_a_lost_job_goes_back_to_its_own_models_queue(connection: redis.Redis, settings: QueueSettings) -> None:
    """Recovery puts a job lost between dequeue and start back on the queue of its model and mode."""
    queue = JobQueue(connection, settings)
    lost = make_spec(model="other", mode=Mode.RELAX)
    queue.enqueue(lost)
    relax = rq_queue(connection, "other", Mode.RELAX)
    assert connection.lpop(relax.key) == lost.id.encode()
    sweeper = LostJobs(connection)
    assert sweeper.sweep() == [] and sweeper.sweep() == [lost.id]
    assert relax.job_ids == [lost.id]
    assert rq_queue(connection, "fake", Mode.RELAX).job_ids == []

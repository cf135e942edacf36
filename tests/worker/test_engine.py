"""The engine contract on the worker side: every failed event carries a machine-readable code beside its reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from rq import Queue
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from tests.worker import fakes
from tests.worker.helpers import drain, make_spec
from worker import tasks
from worker.engine import ErrorCode
from worker.events import EventLog, EventType
from worker.process import WORKER_DIED, on_job_failure
from worker.queue import EnqueueError, JobQueue
from worker.settings import QueueSettings


@pytest.fixture
def runtime(settings: QueueSettings, connection: redis.Redis) -> Iterator[tasks.Runtime]:
    """The runtime a worker installs before taking jobs, removed again afterwards."""
    rt = tasks.Runtime.create(fakes.FakeEngine(), settings, connection)
    tasks.install(rt)
    yield rt
    tasks.install(None)


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_engine_error_code_reaches_the_failed_event(
    settings: QueueSettings, connection: redis.Redis, code: ErrorCode
) -> None:
    """An EngineError with any code ends the job failed with that code and the engine's message as its reason."""
    queue = JobQueue(connection, settings)
    spec = make_spec(f"fail:{code}")
    queue.enqueue(spec)
    drain(settings)
    events = EventLog(connection).history(spec.id)
    assert events[-1].type is EventType.FAILED
    assert events[-1].data == {"reason": f"The engine failed with {code}.", "code": code}
    assert EventLog(connection).outcome(spec.id) == {"status": "failed", **events[-1].data}
    assert queue.admission.in_flight(1) == 0


@pytest.mark.parametrize(
    ("exc_type", "reason", "code"),
    [
        (AbandonedJobError, WORKER_DIED, ErrorCode.WORKER_DIED),
        (RuntimeError, tasks.INTERNAL_ERROR, ErrorCode.INTERNAL),
    ],
)
def test_job_given_up_by_rq_fails_with_a_code(
    runtime: tasks.Runtime,
    settings: QueueSettings,
    connection: redis.Redis,
    exc_type: type[Exception],
    reason: str,
    code: ErrorCode,
) -> None:
    """A job RQ gives up on (its worker died, or an error escaped run_job) with no retries left has a coded failure."""
    queue = JobQueue(connection, settings)
    spec = make_spec()
    queue.enqueue(spec)
    job = Job.fetch(spec.id, connection=connection, serializer=JSONSerializer)
    job.retries_left = 0
    assert on_job_failure(job, exc_type, exc_type(), None) is True
    assert EventLog(connection).outcome(spec.id) == {"status": "failed", "reason": reason, "code": code}
    assert queue.admission.in_flight(1) == 0


def test_a_rerun_is_logged_as_the_attempt_it_will_be(
    runtime: tasks.Runtime, settings: QueueSettings, connection: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """RQ calls on_job_failure before Job.retry() takes a retry off: the log names the attempt the rerun reports."""
    assert settings.max_retries == 2
    queue = JobQueue(connection, settings)
    spec = make_spec()
    queue.enqueue(spec)
    job = Job.fetch(spec.id, connection=connection, serializer=JSONSerializer)
    assert tasks.attempt_number(job, settings.max_retries) == 1
    for rerun in (2, 3):
        caplog.clear()
        on_job_failure(job, AbandonedJobError, AbandonedJobError(), None)
        assert f"running it again (attempt {rerun} of 3)" in caplog.text
        with connection.pipeline() as pipeline:  # what RQ does next, as in its registry cleanup
            job.retry(queue.rq_queue(spec.model, spec.mode), pipeline)
            pipeline.execute()
        job = Job.fetch(spec.id, connection=connection, serializer=JSONSerializer)  # as the rerun loads it
        assert tasks.attempt_number(job, settings.max_retries) == rerun
    assert not job.retries_left  # the third run was the last


def test_job_that_cannot_be_queued_fails_with_a_code(
    settings: QueueSettings, connection: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An enqueue that fails after the job was admitted records a failed outcome with code internal."""

    def broken(*args: object, **kwargs: object) -> Job:
        raise RuntimeError("RQ is unwell")

    monkeypatch.setattr(Queue, "enqueue_call", broken)
    spec = make_spec()
    with pytest.raises(EnqueueError) as info:
        JobQueue(connection, settings).enqueue(spec)
    assert info.value.reason == "unavailable"
    outcome = EventLog(connection).outcome(spec.id)
    assert outcome == {"status": "failed", "reason": info.value.message, "code": ErrorCode.INTERNAL}

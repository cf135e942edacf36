"""Real worker processes: SIGKILL mid-job, SIGTERM, several workers, Redis restarts."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest
import redis
from rq import Worker
from rq.rate_limit import RateLimitRegistry

from tests.worker import fakes
from tests.worker.conftest import RedisServer, start_worker, stop_worker
from tests.worker.helpers import make_spec, wait_for
from worker import keys
from worker.engine import ErrorCode
from worker.events import EventLog, EventType
from worker.process import WORKER_DIED
from worker.queue import JobQueue, JobState
from worker.settings import QueueSettings

pytestmark = pytest.mark.slow

SLEEP = {"FAKE_STEP_S": "0.1"}


@pytest.fixture
def sleepy(settings: QueueSettings) -> QueueSettings:
    """Settings whose workers run the sleeping fake engine (0.1 s a step)."""
    # Heartbeat 2 s: a killed worker's job is found within about 3 s, yet a busy machine that delays a beat
    # by a second does not make a live job look abandoned.
    update = {"engine": "tests.worker.fakes:SleepEngine", "max_retries": 2, "heartbeat_s": 2}
    return settings.model_copy(update=update)


def _progressing(log: EventLog, job_id: str) -> bool:
    return any(e.type is EventType.PROGRESS for e in log.history(job_id))


def _count(log: EventLog, job_id: str, kind: EventType) -> int:
    return sum(e.type is kind for e in log.history(job_id))


def test_sigkill_mid_job_loses_nothing_and_delivers_once(sleepy: QueueSettings, connection: redis.Redis) -> None:
    """A worker SIGKILLed mid-job (three times over) has its job rerun by the next worker: one done, slot freed."""
    queue, log = JobQueue(connection, sleepy), EventLog(connection)
    worker = start_worker(sleepy, **SLEEP)
    try:
        for round_ in range(3):
            spec = make_spec(steps=20, seed=round_)
            queue.enqueue(spec)
            wait_for(lambda spec=spec: _progressing(log, spec.id))
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
            stop_worker(worker)
            worker = start_worker(sleepy, **SLEEP)  # the restart (or another worker) picks it up
            outcome = wait_for(lambda spec=spec: log.outcome(spec.id), timeout=30)
            assert outcome["status"] == "done", outcome
            assert _count(log, spec.id, EventType.DONE) == 1
            attempts = [e.data["attempt"] for e in log.history(spec.id) if e.type is EventType.STARTED]
            assert attempts == [1, 2]
            assert queue.admission.in_flight(1) == 0
            registry = RateLimitRegistry(keys.user_rate_limit(1), connection)
            wait_for(lambda registry=registry: registry.get_allowed_job_count() == 0)
    finally:
        stop_worker(worker)
    assert all(_count(log, e.job_id, EventType.DONE) <= 1 for e in log.history())


def test_sigkill_without_retries_fails_clearly(sleepy: QueueSettings, connection: redis.Redis) -> None:
    """With no retries left, a job whose worker died ends failed with a clear reason and its slot is freed."""
    settings = sleepy.model_copy(update={"max_retries": 0})
    queue, log = JobQueue(connection, settings), EventLog(connection)
    spec = make_spec(steps=20)
    queue.enqueue(spec)
    worker = start_worker(settings, **SLEEP)
    wait_for(lambda: _progressing(log, spec.id))
    os.kill(worker.pid, signal.SIGKILL)
    stop_worker(worker)
    other = start_worker(settings, **SLEEP)
    try:
        outcome = wait_for(lambda: log.outcome(spec.id), timeout=30)
    finally:
        stop_worker(other)
    assert outcome == {"status": "failed", "reason": WORKER_DIED, "code": ErrorCode.WORKER_DIED}
    assert _count(log, spec.id, EventType.STARTED) == 1
    assert queue.admission.in_flight(1) == 0


def test_sigterm_finishes_the_current_job(sleepy: QueueSettings, connection: redis.Redis) -> None:
    """SIGTERM lets the running job finish, then the worker exits without taking the next one."""
    queue, log = JobQueue(connection, sleepy), EventLog(connection)
    first, second = make_spec(steps=15, user_id=1), make_spec(steps=15, user_id=2)
    queue.enqueue(first)
    queue.enqueue(second)
    worker = start_worker(sleepy, **SLEEP)
    wait_for(lambda: _progressing(log, first.id))
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    output = stop_worker(worker)
    assert log.outcome(first.id)["status"] == "done", output
    assert queue.position(second.id).state is JobState.QUEUED


def test_workers_share_the_load_with_one_model_load_each(sleepy: QueueSettings, connection: redis.Redis) -> None:
    """Two workers on one Redis split the jobs between them, each loading the engine once."""
    queue, log = JobQueue(connection, sleepy), EventLog(connection)
    specs = [make_spec(steps=5, user_id=i) for i in range(8)]
    workers = [start_worker(sleepy, **SLEEP) for _ in range(2)]
    try:
        wait_for(lambda: int(connection.get(fakes.LOADS_KEY) or 0) == 2, timeout=30)
        wait_for(lambda: len(Worker.all(connection=connection)) == 2, timeout=30)  # both past start-up
        for spec in specs:
            queue.enqueue(spec)
        wait_for(lambda: all(log.outcome(s.id) for s in specs), timeout=30)
    finally:
        for w in workers:
            stop_worker(w)
    started = [e for e in log.history() if e.type is EventType.STARTED]
    assert len(Counter(e.data["worker"] for e in started)) == 2
    assert int(connection.get(fakes.LOADS_KEY)) == 2
    assert all(_count(log, s.id, EventType.DONE) == 1 for s in specs)


def test_worker_reconnects_after_redis_restart(sleepy: QueueSettings, tmp_path) -> None:
    """A worker outlives a Redis restart: it reconnects (engine kept) and runs jobs enqueued afterwards."""
    server = RedisServer(directory=tmp_path, persist=True)
    server.start()
    settings = sleepy.model_copy(update={"redis_url": server.url})
    client = redis.Redis.from_url(server.url)
    worker = start_worker(settings, **SLEEP)
    try:
        wait_for(lambda: client.get(fakes.LOADS_KEY), timeout=30)
        server.stop()
        time.sleep(1.5)
        server.start()
        spec = make_spec(steps=3)
        JobQueue(client, settings).enqueue(spec)
        outcome = wait_for(lambda: EventLog(client).outcome(spec.id), timeout=40)
        assert outcome["status"] == "done"
    finally:
        output = stop_worker(worker)
        server.stop()
    assert output.count("engine loaded") == 1, output

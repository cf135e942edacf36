"""A real ``imagine worker`` outlives Redis going away mid-job, at the job's end and while idle (issue 14, defect 2)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.worker import fakes
from tests.worker.conftest import start_worker, stop_worker
from tests.worker.helpers import make_spec, wait_for
from worker.embedded_redis import EmbeddedRedis
from worker.events import EventLog, EventType
from worker.queue import JobQueue
from worker.settings import QueueSettings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

STEP_S = "0.1"  # the sleeping fake engine's seconds per step


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own with an append-only file, so the queue survives a stop and start."""
    with EmbeddedRedis(directory=tmp_path / "redis", persist=True) as server:
        yield server


@pytest.fixture
def settings(server: EmbeddedRedis) -> QueueSettings:
    """Heartbeat 2 s, maintenance 1 s: a job whose worker lost track of it is found again within seconds."""
    return QueueSettings(
        _env_file=None,
        redis_url=server.url,
        engine="tests.worker.fakes:SleepEngine",
        heartbeat_s=2,
        maintenance_s=1,
        job_timeout_s=60,
        max_retries=2,
        progress_interval_s=0,
    )


@pytest.fixture
def client(server: EmbeddedRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(server.url)
    yield client
    client.close()


def _quietly(read: Any) -> Any:
    """``read()``, or None while Redis is still coming back."""
    try:
        return read()
    except redis.RedisError:
        return None


def _terminal(log: EventLog, job_id: str) -> list[EventType]:
    return [e.type for e in log.history(job_id) if e.terminal]


def _progress(log: EventLog, job_id: str) -> int:
    return max((e.data["step"] for e in log.history(job_id) if e.type is EventType.PROGRESS), default=0)


def _assert_alive(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is not None:
        tail = Path(worker.log_path).read_text()[-3000:]  # type: ignore[attr-defined]  # the fixture attaches log_path to the Popen
        raise AssertionError(f"the worker exited with status {worker.returncode}:\n{tail}")


def _outage(server: EmbeddedRedis, seconds: float) -> None:
    server.stop()
    time.sleep(seconds)
    server.start()


def test_redis_down_mid_job(server: EmbeddedRedis, settings: QueueSettings, client: redis.Redis) -> None:
    """Redis down for 3 s in the middle of a 6 s job: the worker lives on and the job ends done, once."""
    log = EventLog(client)
    worker = start_worker(settings, FAKE_STEP_S=STEP_S)
    try:
        spec = make_spec(steps=60)
        JobQueue(client, settings).enqueue(spec)
        wait_for(lambda: _progress(log, spec.id) >= 5, timeout=30)
        _outage(server, 3)
        outcome = wait_for(lambda: _quietly(lambda: log.outcome(spec.id)), timeout=30)
        _assert_alive(worker)
        assert outcome["status"] == "done", outcome
        assert _terminal(log, spec.id) == [EventType.DONE]
    finally:
        output = stop_worker(worker)
    assert output.count("engine loaded") == 1, output


def test_redis_down_across_a_jobs_end(server: EmbeddedRedis, settings: QueueSettings, client: redis.Redis) -> None:
    """Redis goes away before a job ends and stays away while the worker rebuilds its RQ worker: it waits it out."""
    log = EventLog(client)
    queue = JobQueue(client, settings)
    worker = start_worker(settings, FAKE_STEP_S=STEP_S)
    try:
        spec = make_spec(steps=15)
        queue.enqueue(spec)
        wait_for(lambda: _progress(log, spec.id) >= 5, timeout=30)
        # The job ends 1 s into the outage; reporting it fails, RQ's loop ends, and the worker is rebuilt
        # (1 s backoff) while Redis is still away.
        _outage(server, 5)
        _assert_alive(worker)
        outcome = wait_for(lambda: _quietly(lambda: log.outcome(spec.id)), timeout=30)
        assert outcome["status"] == "done", outcome
        assert _terminal(log, spec.id) == [EventType.DONE]
        _assert_alive(worker)
        after = make_spec(steps=3, seed=7)
        queue.enqueue(after)  # and it still takes new work
        assert wait_for(lambda: log.outcome(after.id), timeout=20)["status"] == "done"
    finally:
        output = stop_worker(worker)
    assert output.count("engine loaded") == 1, output


def test_redis_down_while_idle(server: EmbeddedRedis, settings: QueueSettings, client: redis.Redis) -> None:
    """Redis away for 6 s while the worker waits for work: it stays up and runs the next job."""
    worker = start_worker(settings, FAKE_STEP_S=STEP_S)
    try:
        wait_for(lambda: client.get(fakes.LOADS_KEY), timeout=30)
        time.sleep(1)  # past start-up, into RQ's dequeue loop
        _outage(server, 6)
        _assert_alive(worker)
        spec = make_spec(steps=3)
        JobQueue(client, settings).enqueue(spec)
        assert wait_for(lambda: EventLog(client).outcome(spec.id), timeout=30)["status"] == "done"
        _assert_alive(worker)
    finally:
        output = stop_worker(worker)
    assert output.count("engine loaded") == 1, output


def test_redis_refusing_writes_at_a_jobs_end(settings: QueueSettings, client: redis.Redis) -> None:
    """Redis answering but refusing writes (a ResponseError, not a lost connection) as a job ends: it waits it out."""
    log = EventLog(client)
    worker = start_worker(settings, FAKE_STEP_S=STEP_S)
    try:
        spec = make_spec(steps=15)
        JobQueue(client, settings).enqueue(spec)
        wait_for(lambda: _progress(log, spec.id) >= 5, timeout=30)
        client.config_set("min-replicas-to-write", 1)  # every write now fails: NOREPLICAS
        time.sleep(4)
        _assert_alive(worker)
        client.config_set("min-replicas-to-write", 0)
        outcome = wait_for(lambda: log.outcome(spec.id), timeout=30)
        assert outcome["status"] == "done", outcome
        assert _terminal(log, spec.id) == [EventType.DONE]
        _assert_alive(worker)
    finally:
        output = stop_worker(worker)
    assert output.count("engine loaded") == 1, output


def test_sigterm_while_reconnecting_stops_at_once(server: EmbeddedRedis, settings: QueueSettings) -> None:
    """SIGTERM while the worker waits for Redis between RQ workers (no job running) ends it at once, status 0."""
    client = redis.Redis.from_url(server.url)
    worker = start_worker(settings, FAKE_STEP_S=STEP_S)
    log_path = Path(worker.log_path)  # type: ignore[attr-defined]  # the fixture attaches log_path to the Popen
    try:
        spec = make_spec(steps=15)
        JobQueue(client, settings).enqueue(spec)
        wait_for(lambda: _progress(EventLog(client), spec.id) >= 5, timeout=30)
        client.close()
        server.stop()
        wait_for(lambda: b"work loop ended" in log_path.read_bytes(), timeout=30)
        _assert_alive(worker)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(5) == 0
    finally:
        output = stop_worker(worker)
    assert "Traceback" not in output.split("work loop ended", 1)[1], output

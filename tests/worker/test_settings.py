"""Queue settings and the worker command line."""

from __future__ import annotations

import argparse

import pytest

from cli import worker as worker_cli
from worker.settings import QueueSettings
from worker.spec import Mode


def test_redis_password_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Redis password (as a setting or inside the URL) appears in neither repr nor the logged URL."""
    monkeypatch.setenv("IMAGINE_REDIS_PASSWORD", "hunter2")
    monkeypatch.setenv("IMAGINE_REDIS_URL", "redis://:s3cret@redis.internal:6380/1")
    settings = QueueSettings(_env_file=None)
    assert settings.redis_password.get_secret_value() == "hunter2"
    for text in (repr(settings), str(settings), settings.redis_url_safe):
        assert "hunter2" not in text and "s3cret" not in text
    assert settings.redis_url_safe == "redis://:***@redis.internal:6380/1"


def test_bad_redis_url_is_refused() -> None:
    """A Redis URL without a redis scheme is a settings error, not a late connection failure."""
    with pytest.raises(ValueError, match="redis_url"):
        QueueSettings(_env_file=None, redis_url="http://localhost:6379")


def test_worker_command_takes_a_subset_of_queues() -> None:
    """`imagine worker --queues fast` serves fast only; unknown queue names are a usage error."""
    parser = argparse.ArgumentParser()
    worker_cli.add_parser(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["worker", "--queues", "fast"]).queues == [Mode.FAST]
    assert parser.parse_args(["worker"]).queues == [Mode.FAST, Mode.RELAX]
    with pytest.raises(SystemExit):
        parser.parse_args(["worker", "--queues", "turbo"])


def test_worker_command_fails_cleanly_when_the_engine_cannot_load(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    """`imagine worker` with an engine that cannot be loaded exits 1 with a one-line reason."""
    from cli import main

    monkeypatch.setenv("IMAGINE_ENGINE", "tests.worker.fakes:NoSuchEngine")
    assert main(["worker", "--burst"]) == 1
    assert "could not load engine tests.worker.fakes:NoSuchEngine" in caplog.text


def test_clients_wait_for_a_connection_instead_of_failing() -> None:
    """Both clients sit on a blocking pool of the configured size: a burst waits (up to the timeout) for one."""
    import redis
    import redis.asyncio

    settings = QueueSettings(_env_file=None, redis_max_connections=7, redis_pool_timeout_s=1.5, redis_password="pw")
    sync_pool = settings.redis().connection_pool
    async_pool = settings.redis_async().connection_pool
    assert isinstance(sync_pool, redis.BlockingConnectionPool)
    assert isinstance(async_pool, redis.asyncio.BlockingConnectionPool)
    for pool in (sync_pool, async_pool):
        assert (pool.max_connections, pool.timeout) == (7, 1.5)
        assert pool.connection_kwargs["password"] == "pw"
        # A command on a connection that died (Redis restarted) is sent again on a fresh one.
        assert pool.connection_kwargs["retry"].get_retries() == 2
        assert redis.ConnectionError in pool.connection_kwargs["retry_on_error"]

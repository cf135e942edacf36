"""Fixtures for the handler tests: a Redis server of our own (never the shared one), flushed around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from bot.blocking import BlockingExecutor
from bot.jobs import JobRecords
from bot.pending import PendingJobs
from bot.result_images import ResultImages
from bot.services import BotServices
from bot.submit import Submitter
from bot.user_settings import UserSettingsStore
from tests.bot.fleet import SD1, publish
from tests.bot.stand_ins import Outbox
from worker.embedded_redis import EmbeddedRedis
from worker.queue import JobQueue
from worker.settings import QueueSettings
from worker.store import open_store


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(directory=tmp_path_factory.mktemp("bot-redis")) as server:
        yield server


@pytest.fixture
def queue_settings(redis_server: EmbeddedRedis) -> Iterator[QueueSettings]:
    """Queue settings on an empty database (two jobs at once per user, two more may wait)."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield QueueSettings(_env_file=None, redis_url=redis_server.url, concurrent_limit=2, queued_limit=2)
    client.flushdb()
    client.close()


@pytest.fixture
def services(queue_settings: QueueSettings) -> Iterator[BotServices]:
    """The bot's services on the test Redis, with the stand-in outbox, and model sd1 online (tests.bot.fleet).
    Use them within one ``asyncio.run``."""
    connection = queue_settings.redis_async()
    queue = JobQueue.from_settings(queue_settings)
    blocking = BlockingExecutor(threads=2)
    records = JobRecords(connection)
    pending = PendingJobs(connection)
    services = BotServices(
        redis=connection,
        queue=queue,
        blocking=blocking,
        records=records,
        pending=pending,
        user_prefs=UserSettingsStore(connection),
        submitter=Submitter(queue, records, pending, connection, blocking),
        outbox=Outbox(),  # type: ignore[arg-type]  # records posts instead of calling Discord
        images=ResultImages(open_store(queue_settings, queue.connection), blocking),
    )
    publish(services, SD1)
    yield services
    blocking.close()
    queue.connection.close()

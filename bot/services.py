"""The bot's shared collaborators, made once when the bot starts and handed out piecemeal.

``BotServices`` holds the connections and the objects built on them; the client's ``setup_hook`` opens it and
gives each handler (commands, button actions, /info, delivery, progress edits) only the parts it uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord
import redis.asyncio

from bot.blocking import BlockingExecutor
from bot.jobs import JobRecords
from bot.outbox import Outbox
from bot.pending import PendingJobs
from bot.result_images import ResultImages
from bot.submit import Submitter
from bot.user_settings import UserSettingsStore
from worker.queue import JobQueue
from worker.settings import QueueSettings
from worker.store import open_store


@dataclass(frozen=True)
class BotServices:
    """Everything the bot's handlers share."""

    redis: redis.asyncio.Redis  # the bot's own keys (records, settings, delivered marks, pending) and user job index
    queue: JobQueue  # synchronous: call it through ``blocking``
    blocking: BlockingExecutor
    records: JobRecords
    pending: PendingJobs
    user_prefs: UserSettingsStore
    submitter: Submitter
    outbox: Outbox
    images: ResultImages

    @classmethod
    def open(cls, client: discord.Client, settings: QueueSettings) -> BotServices:
        """Connect to the queue's Redis (connections are made on first use) and build the services on it."""
        connection = settings.redis_async()
        queue = JobQueue.from_settings(settings)
        blocking = BlockingExecutor()
        records = JobRecords(connection)
        pending = PendingJobs(connection)
        return cls(
            redis=connection,
            queue=queue,
            blocking=blocking,
            records=records,
            pending=pending,
            user_prefs=UserSettingsStore(connection),
            submitter=Submitter(queue, records, pending, connection, blocking),
            outbox=Outbox(client),
            images=ResultImages(open_store(settings, queue.connection), blocking),
        )

    def close(self) -> None:
        """Stop the thread pool for blocking calls."""
        self.blocking.close()

"""The delivery loop against a real Redis: each result is posted once, however often its event is seen."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import redis

from bot.blocking import BlockingExecutor
from bot.delivery import Delivery
from bot.jobs import CancelReply, JobRecord, JobRecords
from bot.pending import PendingJobs
from bot.result_images import ResultImages
from worker.embedded_redis import EmbeddedRedis
from worker.engine import ErrorCode
from worker.events import Event, EventConsumer, EventLog, EventType
from worker.settings import QueueSettings
from worker.spec import JobKind
from worker.store import RedisStore

JOB = "0123456789abcdef0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\nfake"


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis() as embedded:
        yield embedded


@pytest.fixture
def sync_redis(server: EmbeddedRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(server.url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class _Outbox:
    def __init__(self, fail_first: int = 0) -> None:
        self.posts: list[dict[str, Any]] = []
        self.deleted: list[int] = []
        self.edits: list[dict[str, Any]] = []
        self.replies: list[tuple[int, str]] = []
        self.fail_first = fail_first
        self.in_channel: int | None = None  # a result message an earlier try left in the channel

    async def send(self, record: JobRecord, **kwargs: Any) -> Any:
        if self.fail_first:
            self.fail_first -= 1
            import discord

            raise discord.HTTPException(SimpleNamespace(status=503, reason="Unavailable"), "try later")
        self.posts.append(kwargs)
        return SimpleNamespace(id=1000 + len(self.posts))

    async def delete(self, record: JobRecord, message_id: int) -> None:
        self.deleted.append(message_id)

    async def find_result_message(self, record: JobRecord, since: float) -> int | None:
        return self.in_channel

    async def edit(self, record: JobRecord, message_id: int, **kwargs: Any) -> None:
        self.edits.append(kwargs)

    async def edit_reply(self, reply: CancelReply, content: str) -> None:
        self.replies.append((reply.message_id, content))

    async def user_name(self, user_id: int) -> str:
        return "alice" if user_id == 1 else f"user {user_id}"


def _delivery(url: str, outbox: _Outbox, consumer: EventConsumer | None = None) -> Delivery:
    """A delivery loop on the test Redis, posting to ``outbox``; specs are never found (records are)."""
    settings = QueueSettings(_env_file=None, redis_url=url)
    aio = settings.redis_async()
    blocking = BlockingExecutor(threads=2)
    return Delivery(
        consumer or EventConsumer(aio),
        connection=aio,
        records=JobRecords(aio),
        pending=PendingJobs(aio),
        queue=SimpleNamespace(load_spec=lambda job_id: None),  # type: ignore[arg-type]  # stand-in: no specs
        blocking=blocking,
        outbox=outbox,  # type: ignore[arg-type]  # stand-in recording posts
        progress=SimpleNamespace(finish=lambda job_id: None),  # type: ignore[arg-type]  # stand-in: no edits
        images=ResultImages(RedisStore(settings.redis(), 60), blocking),
    )


async def _deliver_all(outbox: _Outbox, url: str) -> None:
    """One pass of a fresh bot process's delivery loop: its pending events first, then new ones."""
    consumer = EventConsumer(QueueSettings(_env_file=None, redis_url=url).redis_async())
    delivery = _delivery(url, outbox, consumer)
    await consumer.ensure_group()
    for event in await consumer.read(block_ms=100):
        if await delivery.handle(event):
            await consumer.ack(event)


def _setup(sync_redis: redis.Redis, event: Event | None = None) -> None:
    """A job shown as message 77, and its terminal event (by default done, with a grid in the store)."""
    record = JobRecord(job_id=JOB, kind=JobKind.IMAGINE, user_id=1, channel_id=2, prompt="fox", message_id=77)
    sync_redis.set(f"imagine:bot:job:{JOB}", record.model_dump_json())
    RedisStore(sync_redis, 60).put(JOB, "grid.png", PNG)
    EventLog(sync_redis).finish(event or Event(EventType.DONE, JOB, 1, 2, None, {"files": [f"{JOB}/grid.png"]}))


def test_done_event_seen_twice_posts_once(sync_redis: redis.Redis, server: EmbeddedRedis) -> None:
    """A done event handled again (a restart before its ack, a reclaim) does not post the result again."""
    outbox = _Outbox()
    _setup(sync_redis)
    event = EventLog(sync_redis).history(JOB)[0]

    async def twice() -> list[bool]:
        delivery = _delivery(server.url, outbox)
        return [await delivery.handle(event), await delivery.handle(event)]

    assert asyncio.run(twice()) == [True, True]
    assert len(outbox.posts) == 1 and outbox.deleted == [77]
    assert outbox.posts[0]["content"] == "**fox** - <@1> (fast)"
    assert outbox.posts[0]["nonce"] == JOB[:25]  # Discord answers a repeat within minutes with this post
    assert sync_redis.get(f"imagine:bot:delivered:{JOB}") == b"1001"


def test_transient_failure_is_retried_not_lost(sync_redis: redis.Redis, server: EmbeddedRedis) -> None:
    """A 503 from Discord leaves the event pending; a later pass (after a restart) posts it."""
    outbox = _Outbox(fail_first=1)
    _setup(sync_redis)
    asyncio.run(_deliver_all(outbox, server.url))
    assert outbox.posts == [] and sync_redis.xpending("imagine:events", "bot")["pending"] == 1
    asyncio.run(_deliver_all(outbox, server.url))  # a new process, same consumer name
    assert len(outbox.posts) == 1 and sync_redis.xpending("imagine:events", "bot")["pending"] == 0


@pytest.mark.parametrize(
    ("data", "title"),
    [
        ({"reason": "The original job has expired; run /imagine again.", "code": ErrorCode.EXPIRED}, "Job expired"),
        ({"reason": "The original image is gone.", "code": ErrorCode.EXPIRED}, "Job expired"),
        ({"reason": "Your coupon has expired, says the prompt.", "code": ErrorCode.BAD_INPUT}, "Internal error"),
        ({"reason": "The original job has expired; run /imagine again."}, "Internal error"),
    ],
)
def test_failed_job_shows_job_expired_by_its_code(
    sync_redis: redis.Redis, server: EmbeddedRedis, data: dict[str, str], title: str
) -> None:
    """A failed job is shown as "Job expired" when its code is expired, whatever its reason says, and only then."""
    outbox = _Outbox()
    _setup(sync_redis, Event(EventType.FAILED, JOB, 1, 2, None, data))
    asyncio.run(_deliver_all(outbox, server.url))
    assert len(outbox.edits) == 1
    embed = outbox.edits[0]["embed"]
    assert (embed.title, embed.description) == (title, data["reason"])


@pytest.mark.parametrize(
    ("event", "answer"),
    [
        (Event(EventType.CANCELLED, JOB, 1, 2, None, {"reason": "cancelled"}), "Cancelled."),
        (
            Event(EventType.DONE, JOB, 1, 2, None, {"files": [f"{JOB}/grid.png"]}),
            "Too late: the job had already finished.",
        ),
    ],
)
def test_the_owners_cancel_answer_says_how_the_job_ended(
    sync_redis: redis.Redis, server: EmbeddedRedis, event: Event, answer: str
) -> None:
    """A job's end edits the "Cancelling the job…" answer its owner's ❌ left, once: the reply is taken."""
    outbox = _Outbox()
    _setup(sync_redis, event)
    reply = CancelReply(application_id=5, token="press-token", message_id=88)
    asyncio.run(
        JobRecords(QueueSettings(_env_file=None, redis_url=server.url).redis_async()).save_cancel_reply(JOB, reply)
    )
    asyncio.run(_deliver_all(outbox, server.url))
    assert outbox.replies == [(88, answer)]
    assert sync_redis.exists(f"imagine:bot:cancel-reply:{JOB}") == 0


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (
            Event(EventType.DONE, JOB, 1, 2, None, {"files": [f"{JOB}/grid.png"], "seconds": 1.26}),
            'job 01234567: imagine "fox" by alice: queued → done in 1.3 s → posted',
        ),
        (
            Event(EventType.FAILED, JOB, 1, 2, None, {"reason": "The worker stopped.", "code": ErrorCode.WORKER_DIED}),
            'job 01234567: imagine "fox" by alice: queued → failed (worker_died): The worker stopped.',
        ),
        (
            Event(EventType.CANCELLED, JOB, 1, 2, None, {"reason": "cancelled"}),
            'job 01234567: imagine "fox" by alice: queued → cancelled',
        ),
    ],
)
def test_each_job_ends_with_one_headline(
    sync_redis: redis.Redis, server: EmbeddedRedis, caplog: pytest.LogCaptureFixture, event: Event, line: str
) -> None:
    """A job's end is logged once, on one line marked as a headline (what a quiet `imagine run` shows)."""
    _setup(sync_redis, event)
    stored = EventLog(sync_redis).history(JOB)[0]

    async def twice() -> None:
        delivery = _delivery(server.url, _Outbox())
        await delivery.handle(stored)
        await delivery.handle(stored)  # a repeat (a restart before its ack) is skipped, unlogged

    with caplog.at_level(logging.INFO, logger="bot.delivery"):
        asyncio.run(twice())
    headlines = [r for r in caplog.records if getattr(r, "headline", False)]
    assert [r.getMessage() for r in headlines] == [line]


def test_a_post_discord_took_before_a_crash_is_not_repeated(sync_redis: redis.Redis, server: EmbeddedRedis) -> None:
    """After an earlier try (a crash before the delivery was recorded) the result found in the channel counts."""
    outbox = _Outbox()
    outbox.in_channel = 555
    _setup(sync_redis)
    sync_redis.set(f"imagine:bot:posting:{JOB}", 1_700_000_000)
    asyncio.run(_deliver_all(outbox, server.url))
    assert outbox.posts == [] and outbox.deleted == [77]
    assert sync_redis.get(f"imagine:bot:delivered:{JOB}") == b"555"

"""The event stream: terminal events once per job, consumer groups that resume and reclaim, trimming."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio

from tests.worker.conftest import RedisServer
from worker import keys
from worker.events import Event, EventConsumer, EventLog, EventType


def test_terminal_event_is_written_once(connection: redis.Redis) -> None:
    """A second terminal event for the same job (a re-run) is dropped, and the outcome stays the first."""
    log = EventLog(connection)
    assert log.finish(Event(EventType.DONE, "j1", 1, 2, data={"files": ["j1/grid.png"]}))
    assert not log.finish(Event(EventType.DONE, "j1", 1, 2, data={"files": ["j1/grid.png"]}))
    assert not log.finish(Event(EventType.FAILED, "j1", 1, 2, data={"reason": "x"}))
    assert [e.type for e in log.history("j1")] == [EventType.DONE]
    assert log.outcome("j1") == {"status": "done", "files": ["j1/grid.png"]}


def test_stream_is_trimmed(connection: redis.Redis) -> None:
    """The stream stays near its MAXLEN however many events are written."""
    log = EventLog(connection, maxlen=100)
    for i in range(1000):
        log.emit(Event(EventType.PROGRESS, f"j{i}", data={"percent": 1}))
    assert connection.xlen(keys.EVENTS) < 300


def test_consumer_resumes_and_reclaims(redis_server: RedisServer, connection: redis.Redis) -> None:
    """A restarted consumer gets its unacknowledged events again, and another consumer reclaims stale ones."""
    log = EventLog(connection)
    for i in range(5):
        log.emit(Event(EventType.QUEUED, f"j{i}", 7, 8))

    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(redis_server.url)
        first = EventConsumer(client, group="bot", name="a", min_idle_ms=50)
        await first.ensure_group()
        await first.ensure_group()  # idempotent
        got = await first.read(count=3, block_ms=100)
        assert [e.job_id for e in got] == ["j0", "j1", "j2"]
        await first.ack(got[0])
        # "a" restarts: its pending (read, unacknowledged) entries come back first, then new ones.
        again = EventConsumer(client, group="bot", name="a", min_idle_ms=50)
        assert [e.job_id for e in await again.read(block_ms=100)] == ["j1", "j2"]
        assert [e.job_id for e in await again.read(block_ms=100)] == ["j3", "j4"]
        # "a" dies for good; "b" takes over everything it left pending.
        await asyncio.sleep(0.1)
        other = EventConsumer(client, group="bot", name="b", min_idle_ms=50)
        reclaimed = await other.reclaim()
        assert [e.job_id for e in reclaimed] == ["j1", "j2", "j3", "j4"]
        assert reclaimed[0].user_id == 7 and reclaimed[0].channel_id == 8 and reclaimed[0].type is EventType.QUEUED
        assert await other.ack(*reclaimed) == 4
        assert await other.read(block_ms=50) == []
        await client.aclose()

    asyncio.run(scenario())


def test_consumer_skips_pending_entries_trimmed_away(redis_server: RedisServer, connection: redis.Redis) -> None:
    """Pending entries trimmed from the stream are acknowledged and skipped; later ones still arrive."""
    log = EventLog(connection)
    for i in range(4):
        log.emit(Event(EventType.QUEUED, f"j{i}"))

    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(redis_server.url)
        first = EventConsumer(client, group="bot", name="a")
        await first.ensure_group()
        assert len(await first.read(count=4, block_ms=100)) == 4  # read, never acknowledged
        await client.xtrim(keys.EVENTS, maxlen=1, approximate=False)  # j0..j2 are gone
        log.emit(Event(EventType.QUEUED, "j4"))
        again = EventConsumer(client, group="bot", name="a")
        assert [e.job_id for e in await again.read(count=2, block_ms=100)] == ["j3"]
        assert [e.job_id for e in await again.read(block_ms=100)] == ["j4"]
        assert (await client.xpending(keys.EVENTS, "bot"))["pending"] == 2  # j3, j4: the trimmed ones were acked
        await client.aclose()

    asyncio.run(scenario())

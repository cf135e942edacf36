"""The job event stream: what happened to each job, in order, for the bot to deliver.

Workers and the enqueuer append to one Redis Stream (``keys.EVENTS``, trimmed with MAXLEN ~). The terminal
event of a job (done, failed or cancelled) is written at most once per job id: it is added by a Lua script
only if it also sets the job's ``final`` key, so a job that runs twice (at-least-once) never reports twice.

The bot reads with ``EventConsumer`` (redis.asyncio, a consumer group): XREADGROUP, then XACK once an event
is handled; entries left pending by a consumer that died are reclaimed with XAUTOCLAIM. Delivery to the bot
is at-least-once, so a handler must tolerate seeing an event again (the stream id is a natural key).
This module is light: the bot imports it; it never imports torch or the engine.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from worker import keys

if TYPE_CHECKING:
    import redis
    import redis.asyncio
    from redis.typing import EncodableT, FieldT, KeyT, StreamIdT

    from worker.engine import ErrorCode
    from worker.spec import Requester

log = logging.getLogger(__name__)


class EventType(StrEnum):
    """What happened to a job."""

    QUEUED = "queued"
    STARTED = "started"
    PROGRESS = "progress"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({EventType.DONE, EventType.FAILED, EventType.CANCELLED})

# Sets the final key (NX) and appends the event only if that succeeded; returns the stream id or false.
# KEYS: final key, stream. ARGV: final value, final ttl, maxlen, field, value, field, value...
_FINISH_ONCE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
    return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
end
return false
"""


@dataclass(frozen=True)
class Event:
    """One entry of the stream. ``data`` holds the type's fields (percent, files, reason, code...)."""

    type: EventType
    job_id: str
    user_id: int | None = None
    channel_id: int | None = None
    guild_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    stream_id: str | None = None

    def fields(self) -> dict[str, str]:
        """The flat string fields stored in the stream."""
        out = {"type": str(self.type), "job": self.job_id, "data": json.dumps(self.data, separators=(",", ":"))}
        for name in ("user_id", "channel_id", "guild_id"):
            if (value := getattr(self, name)) is not None:
                out[name] = str(value)
        return out

    @classmethod
    def from_fields(cls, stream_id: bytes | str, raw: dict[bytes | str, bytes | str]) -> Event:
        """Decode a stream entry as read by XREADGROUP/XRANGE."""
        f = {_text(k): _text(v) for k, v in raw.items()}

        def as_int(name: str) -> int | None:
            return int(f[name]) if name in f else None

        return cls(
            type=EventType(f["type"]),
            job_id=f["job"],
            user_id=as_int("user_id"),
            channel_id=as_int("channel_id"),
            guild_id=as_int("guild_id"),
            data=json.loads(f.get("data") or "{}"),
            stream_id=_text(stream_id),
        )

    @property
    def terminal(self) -> bool:
        """Whether this is a job's last event (done, failed or cancelled)."""
        return self.type in TERMINAL


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def make_event(kind: EventType, job_id: str, requester: Requester | None, data: dict[str, Any] | None = None) -> Event:
    """An event addressed to the job's requester (None when the spec could not be read)."""
    if requester is None:
        return Event(kind, job_id, data=data or {})
    return Event(kind, job_id, requester.user_id, requester.channel_id, requester.guild_id, data or {})


def failure(code: ErrorCode, reason: str) -> dict[str, Any]:
    """A ``failed`` event's data: ``reason`` to show the user, ``code`` for programs (the bot) to act on."""
    return {"reason": reason, "code": str(code)}


class EventLog:
    """Appends events to the stream (synchronous: used by the enqueuer and the workers)."""

    def __init__(self, connection: redis.Redis, maxlen: int = 10_000, final_ttl_s: int = 30 * 24 * 3600):
        self.connection = connection
        self.maxlen = maxlen
        self.final_ttl_s = final_ttl_s
        self._finish_once = connection.register_script(_FINISH_ONCE)

    def emit(self, event: Event) -> str:
        """Append a non-terminal event; returns its stream id."""
        if event.terminal:
            raise ValueError("terminal events go through finish(), which writes them once")
        fields: dict[FieldT, EncodableT] = dict(event.fields().items())
        stream_id = self.connection.xadd(keys.EVENTS, fields, maxlen=self.maxlen, approximate=True)
        return _text(stream_id)

    def finish(self, event: Event) -> bool:
        """Record the job's outcome and append its terminal event, unless the job already has one.

        Returns True if this call wrote it; False means the job had already finished (a duplicate run).
        """
        if not event.terminal:
            raise ValueError(f"{event.type} is not a terminal event")
        outcome = json.dumps({"status": str(event.type), **event.data}, separators=(",", ":"))
        args: list[str | int] = [outcome, self.final_ttl_s, self.maxlen]
        for name, value in event.fields().items():
            args += [name, value]
        written = self._finish_once(keys=[keys.final(event.job_id), keys.EVENTS], args=args)
        if not written:
            log.info("job %s: already finished, %s event not repeated", event.job_id, event.type)
        return bool(written)

    def outcome(self, job_id: str) -> dict[str, Any] | None:
        """The job's recorded outcome ({"status": ..., plus done/failed fields}), or None if unfinished."""
        raw = self.connection.get(keys.final(job_id))
        return json.loads(raw) if raw else None

    def history(self, job_id: str | None = None, count: int = 10_000) -> list[Event]:
        """Events still in the stream, oldest first (optionally one job's): for tests and tools."""
        entries = self.connection.xrange(keys.EVENTS, count=count) or []
        # redis-py's types allow a missing id or fields; XRANGE returns neither.
        events = [Event.from_fields(sid, raw) for sid, raw in entries if sid is not None and raw is not None]
        return [e for e in events if job_id is None or e.job_id == job_id]


class EventConsumer:
    """Reads the event stream through a consumer group (asyncio), for the bot.

    Usage::

        consumer = EventConsumer(settings.redis_async(), group="bot", name="bot-1")
        await consumer.ensure_group()
        while True:
            for event in await consumer.reclaim() + await consumer.read():
                await deliver(event)          # must tolerate a repeat (at-least-once)
                await consumer.ack(event)

    A consumer restarted under the same ``name`` first gets back its own unacknowledged entries (read()
    serves pending ones before new ones); ``reclaim()`` takes over entries another consumer left pending
    for longer than ``min_idle_ms``. A group created on a fresh stream starts at the beginning.
    """

    def __init__(
        self,
        connection: redis.asyncio.Redis,
        group: str = "bot",
        name: str = "bot-1",
        min_idle_ms: int = 60_000,
        stream: str = keys.EVENTS,
    ):
        self.connection = connection
        self.group = group
        self.name = name
        self.min_idle_ms = min_idle_ms
        self.stream = stream
        # Where the replay of this consumer's own pending entries stands; None once it is done.
        self._pending_cursor: str | None = "0"

    async def ensure_group(self, start: str = "0") -> None:
        """Create the consumer group (and the stream) if missing; ``start`` is where a new group begins."""
        import redis.exceptions

        try:
            await self.connection.xgroup_create(self.stream, self.group, id=start, mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, count: int = 100, block_ms: int | None = 5_000) -> list[Event]:
        """Events for this consumer: first its own pending ones (after a restart), then new ones."""
        while self._pending_cursor is not None:
            stream: dict[KeyT, StreamIdT] = {self.stream: self._pending_cursor}
            entries = _entries(await self.connection.xreadgroup(self.group, self.name, stream, count=count))
            if not entries:
                self._pending_cursor = None
                break
            self._pending_cursor = _text(entries[-1][0])
            # Entries trimmed from the stream while pending come back without fields: nothing to deliver.
            if gone := [sid for sid, raw in entries if not raw]:
                await self.connection.xack(self.stream, self.group, *gone)
            if events := [Event.from_fields(sid, raw) for sid, raw in entries if raw]:
                return events
        reply = await self.connection.xreadgroup(self.group, self.name, {self.stream: ">"}, count=count, block=block_ms)
        return [Event.from_fields(sid, raw) for sid, raw in _entries(reply) if raw]

    async def reclaim(self, count: int = 100) -> list[Event]:
        """Take over entries other consumers read but did not acknowledge within ``min_idle_ms``."""
        reply = await self.connection.xautoclaim(
            self.stream, self.group, self.name, min_idle_time=self.min_idle_ms, start_id="0-0", count=count
        )
        # XAUTOCLAIM → [next start id, [(id, fields)...], [deleted ids]]; trimmed entries come back as None.
        return [Event.from_fields(sid, raw) for sid, raw in reply[1] if raw]

    async def ack(self, *events: Event) -> int:
        """Acknowledge handled events so they are not delivered again."""
        ids = [e.stream_id for e in events if e.stream_id]
        return await self.connection.xack(self.stream, self.group, *ids) if ids else 0


def _entries(reply: Any) -> list[tuple[Any, Any]]:
    """(id, fields) pairs of an XREADGROUP reply (RESP2 list or RESP3 map)."""
    streams = reply.items() if isinstance(reply, dict) else (reply or [])
    return [(sid, raw) for _stream, entries in streams for sid, raw in entries]

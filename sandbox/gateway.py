"""The Gateway: a websocket that sends the bot its events, with sessions that survive a dropped connection.

One bot, one shard: the latest IDENTIFY owns the session that receives events. A session outlives its connection,
buffering what happens meanwhile, so a RESUME replays everything the bot missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from sandbox import payloads
from sandbox.world import World

try:  # zstd-stream is only offered when a zstd library is importable; discord.py asks for it under the same condition
    import zstandard

    HAVE_ZSTANDARD = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_ZSTANDARD = False

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11
BACKLOG = 1000  # events kept per session for RESUME; a bot away longer than that must IDENTIFY again
# A real network's round trip. discord.py's heartbeat thread records the send time only after the event loop has
# sent the beat; an ACK back within microseconds can be handled first and is then logged as "Can't keep up, 41 s".
ACK_DELAY_S = 0.05

GUILDS, GUILD_MEMBERS, GUILD_MESSAGES, DIRECT_MESSAGES, MESSAGE_CONTENT = 1 << 0, 1 << 1, 1 << 9, 1 << 12, 1 << 15


class Encoder:
    """Transport compression for one connection: one compression context for its whole life, flushed per message."""

    def __init__(self, mode: str | None) -> None:
        self.mode = mode
        if mode == "zlib-stream":
            self._zlib = zlib.compressobj()
        elif mode == "zstd-stream":
            if not HAVE_ZSTANDARD:
                raise ValueError("zstd-stream asked for, but no zstandard module is installed")
            self._zstd = zstandard.ZstdCompressor().compressobj()
        elif mode is not None:
            raise ValueError(f"unknown compress mode {mode!r}")

    def encode(self, text: str) -> str | bytes:
        """The frame to send for one JSON message."""
        raw = text.encode()
        if self.mode == "zlib-stream":
            # Z_SYNC_FLUSH ends each message with 00 00 ff ff, which is how clients find message boundaries.
            return self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self.mode == "zstd-stream":
            return self._zstd.compress(raw) + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return text


class Connection:
    """One websocket; a writer task sends queued payloads in order."""

    def __init__(self, ws: web.WebSocketResponse, encoder: Encoder, transport: asyncio.BaseTransport | None) -> None:
        self.ws = ws
        self.encoder = encoder
        self._transport = transport
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._writer = asyncio.get_running_loop().create_task(self._write())

    def send(self, payload: dict[str, Any]) -> None:
        """Queue a payload; queuing is synchronous so events keep the order they happened in."""
        self._queue.put_nowait(payload)

    async def _write(self) -> None:
        while (payload := await self._queue.get()) is not None:
            frame = self.encoder.encode(json.dumps(payload))
            try:
                if isinstance(frame, bytes):
                    await self.ws.send_bytes(frame)
                else:
                    await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return  # the socket went away; the session's backlog still has the events

    async def close(self) -> None:
        """Stop writing; the websocket itself is closed by its handler."""
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer

    def abort(self) -> None:
        """Cut the TCP connection without a close frame, as a network failure would."""
        if isinstance(self._transport, asyncio.WriteTransport):
            self._transport.abort()


@dataclass(eq=False)
class Session:
    """A gateway session: its sequence, its backlog for RESUME, and the connection it is on (if any)."""

    id: str
    intents: int
    seq: int = 0
    backlog: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=BACKLOG))
    connection: Connection | None = None


class Gateway:
    """The gateway endpoint for one World."""

    def __init__(self, world: World, *, heartbeat_interval_ms: int = 41250) -> None:
        self.world = world
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.url = ""
        self.session: Session | None = None
        self.identified = 0
        self.resumed = 0
        # The close code of each ended connection (None when it ended without a close frame).
        self.close_codes: list[int | None] = []
        self._connections: set[Connection] = set()
        world.subscribe(self._on_event)

    @property
    def connected(self) -> bool:
        """Whether a bot session is live on an open connection."""
        return self.session is not None and self.session.connection is not None

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one websocket connection from HELLO to close."""
        # Discord's gateway does not negotiate permessage-deflate; compression is the zlib/zstd transport stream.
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        try:
            encoder = Encoder(request.query.get("compress"))
        except ValueError as exc:
            await ws.close(code=4000, message=str(exc).encode()[:120])
            return ws
        connection = Connection(ws, encoder, request.transport)
        self._connections.add(connection)
        connection.send({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                if not await self._receive(connection, json.loads(message.data)):
                    break
        finally:
            self._connections.discard(connection)
            await connection.close()
            self.close_codes.append(ws.close_code)
            if self.session is not None and self.session.connection is connection:
                self.session.connection = None
                if ws.close_code in (1000, 1001):
                    self.session = None  # Discord ends the session on a normal close: the next connection identifies
                self.world.notify()
        return ws

    async def _receive(self, connection: Connection, payload: dict[str, Any]) -> bool:
        """Handle one message from the bot; False ends the connection."""
        op, data = payload.get("op"), payload.get("d")
        if op == HEARTBEAT:
            asyncio.get_running_loop().call_later(ACK_DELAY_S, connection.send, {"op": HEARTBEAT_ACK})
        elif op not in (IDENTIFY, RESUME, REQUEST_GUILD_MEMBERS):
            if op not in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
                log.warning("gateway: unknown opcode %s", op)
        elif not isinstance(data, dict):
            # These opcodes carry an object; Discord closes on a payload it cannot decode.
            await connection.ws.close(code=4002, message=b"Error while decoding payload.")
            return False
        elif op == IDENTIFY:
            if data.get("token") != self.world.bot_token:
                await connection.ws.close(code=4004, message=b"Authentication failed.")
                return False
            self._identify(connection, data)
        elif op == RESUME:
            self._resume(connection, data)
        else:
            self._members_chunk(connection, data)
        return True

    def _identify(self, connection: Connection, data: dict[str, Any]) -> None:
        session = Session(id=secrets.token_hex(16), intents=int(data.get("intents") or 0), connection=connection)
        self.session = session
        self.identified += 1
        world = self.world
        ready = {
            "v": 10,
            "user": payloads.user_json(world.bot),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in world.guilds.values()],
            "session_id": session.id,
            "resume_gateway_url": self.url,
            "shard": [0, 1],
            "application": {"id": str(world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "presences": [],
        }
        self._send(session, "READY", ready)
        for guild in world.guilds.values():
            self._send(session, "GUILD_CREATE", payloads.guild_json(guild, world.joined_at))
        log.info("gateway: bot identified, session %s", session.id)
        world.notify()

    def _resume(self, connection: Connection, data: dict[str, Any]) -> None:
        session = self.session
        last = int(data.get("seq") or 0)
        oldest = session.backlog[0]["s"] if session and session.backlog else 1
        if session is None or data.get("session_id") != session.id or data.get("token") != self.world.bot_token:
            connection.send({"op": INVALID_SESSION, "d": False})
            return
        if last + 1 < oldest:
            connection.send({"op": INVALID_SESSION, "d": False})  # the backlog no longer reaches back that far
            return
        for missed in session.backlog:
            if missed["s"] > last:
                connection.send(missed)
        session.connection = connection
        self.resumed += 1
        self._send(session, "RESUMED", {})
        log.info("gateway: session %s resumed from seq %s", session.id, last)
        self.world.notify()

    def _members_chunk(self, connection: Connection, data: dict[str, Any]) -> None:
        guild = self.world.guilds.get(int(data.get("guild_id") or 0))
        if guild is None or self.session is None:
            return
        chunk = {
            "guild_id": str(guild.id),
            "members": [payloads.member_json(u, self.world.joined_at) for u in guild.members],
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": data.get("nonce"),
        }
        self._send(self.session, "GUILD_MEMBERS_CHUNK", chunk)

    def _send(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        payload = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.backlog.append(payload)
        if session.connection is not None:
            session.connection.send(payload)

    def _on_event(self, event: str, data: dict[str, Any]) -> None:
        session = self.session
        if session is None:
            return
        filtered = _filter_for_intents(event, data, session.intents, self.world.bot.id)
        if filtered is not None:
            self._send(session, event, filtered)

    async def drop(self) -> None:
        """Cut the bot's connection as a network failure would; the session stays resumable."""
        if self.session is not None and self.session.connection is not None:
            connection = self.session.connection
            self.session.connection = None
            connection.abort()

    async def close(self) -> None:
        """Close every connection, for shutdown."""
        for connection in list(self._connections):
            await connection.ws.close(code=1001)


def _filter_for_intents(event: str, data: dict[str, Any], intents: int, bot_id: int) -> dict[str, Any] | None:
    """The event as a bot with these intents receives it, or None when it receives nothing."""
    if event.startswith("MESSAGE_"):
        needed = GUILD_MESSAGES if "guild_id" in data else DIRECT_MESSAGES
        if not intents & needed:
            return None
        author = data.get("author", {}).get("id")
        if event != "MESSAGE_DELETE" and "guild_id" in data and author != str(bot_id) and not intents & MESSAGE_CONTENT:
            # Without the privileged intent a bot sees other people's guild messages with their content blanked.
            return {**data, "content": "", "embeds": [], "attachments": [], "components": []}
        return data
    if event.startswith("GUILD_MEMBER_"):
        return data if intents & GUILD_MEMBERS else None
    if event.startswith(("GUILD_", "CHANNEL_")):
        return data if intents & GUILDS else None
    return data

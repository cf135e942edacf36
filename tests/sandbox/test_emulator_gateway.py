"""The gateway on a raw websocket: handshake, compression, heartbeats, intents, and RESUME with replay."""

from __future__ import annotations

import json
import zlib
from typing import Any

import aiohttp
import pytest

from sandbox.client import Sandbox
from tests.sandbox.sandbox_harness import run_async, scene

try:
    import zstandard
except ImportError:
    zstandard = None

GUILDS_AND_MESSAGES = (1 << 0) | (1 << 9) | (1 << 12)
MESSAGE_CONTENT = 1 << 15


class RawGateway:
    """A bare gateway client that decodes zlib-stream or zstd-stream frames like discord.py does."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, compress: str | None) -> None:
        self.ws = ws
        self._zlib = zlib.decompressobj() if compress == "zlib-stream" else None
        self._zstd = zstandard.ZstdDecompressor().decompressobj() if compress == "zstd-stream" else None
        self._buffer = bytearray()

    async def receive(self) -> dict[str, Any]:
        """The next gateway payload."""
        while True:
            message = await self.ws.receive(timeout=5)
            if message.type is aiohttp.WSMsgType.TEXT:
                return json.loads(message.data)
            if message.type is not aiohttp.WSMsgType.BINARY:
                raise ConnectionError(f"gateway closed: {message.type} {self.ws.close_code}")
            if self._zstd is not None:
                return json.loads(self._zstd.decompress(message.data))
            assert self._zlib is not None, "binary frame on an uncompressed connection"
            self._buffer.extend(message.data)
            if self._buffer[-4:] == b"\x00\x00\xff\xff":  # Z_SYNC_FLUSH marks the end of one message
                text = self._zlib.decompress(bytes(self._buffer))
                self._buffer.clear()
                return json.loads(text)

    async def until(self, event: str) -> dict[str, Any]:
        """Skip payloads up to and including the dispatch named `event`."""
        while (payload := await self.receive()).get("t") != event:
            pass
        return payload

    async def send(self, op: int, data: Any) -> None:
        """Send one payload."""
        await self.ws.send_str(json.dumps({"op": op, "d": data}))


async def _connect(session: aiohttp.ClientSession, sandbox: Sandbox, compress: str | None) -> RawGateway:
    params = {"v": "10", "encoding": "json"} | ({"compress": compress} if compress else {})
    ws = await session.ws_connect(sandbox.emulator.gateway_url, params=params)
    return RawGateway(ws, compress)


def _identify(sandbox: Sandbox, intents: int = GUILDS_AND_MESSAGES) -> dict[str, Any]:
    properties = {"os": "linux", "browser": "raw", "device": "raw"}
    return {"token": sandbox.bot_token, "intents": intents, "properties": properties}


async def _session_then_close(
    http: aiohttp.ClientSession, sandbox: Sandbox, compress: str | None, intents: int, code: int
) -> tuple[str, int]:
    """Identify, read READY and GUILD_CREATE, then close with ``code``: the session id and the last sequence."""
    first = await _connect(http, sandbox, compress)
    await first.receive()
    await first.send(2, _identify(sandbox, intents))
    session_id = (await first.until("READY"))["d"]["session_id"]
    last_seq = (await first.until("GUILD_CREATE"))["s"]
    await first.ws.close(code=code)
    return session_id, last_seq


async def _resume(
    http: aiohttp.ClientSession, sandbox: Sandbox, compress: str | None, session_id: str, seq: int
) -> RawGateway:
    """A new connection that sends RESUME for ``session_id`` from ``seq``."""
    gateway = await _connect(http, sandbox, compress)
    await gateway.receive()
    await gateway.send(6, {"token": sandbox.bot_token, "session_id": session_id, "seq": seq})
    return gateway


@pytest.mark.parametrize(
    "compress",
    [
        None,
        "zlib-stream",
        pytest.param("zstd-stream", marks=pytest.mark.skipif(zstandard is None, reason="zstandard is not installed")),
    ],
)
@run_async
async def test_handshake_ready_guilds_and_heartbeat(compress: str | None) -> None:
    """HELLO, IDENTIFY → READY with the application, GUILD_CREATE with channels and members, heartbeat → ACK."""
    async with scene() as s, aiohttp.ClientSession() as http:
        gateway = await _connect(http, s.discord, compress)
        hello = await gateway.receive()
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
        await gateway.send(2, _identify(s.discord))
        ready = await gateway.until("READY")
        assert ready["s"] == 1 and ready["d"]["application"]["id"] == str(s.discord.world.application_id)
        assert ready["d"]["resume_gateway_url"] == s.discord.emulator.gateway_url
        guild = (await gateway.until("GUILD_CREATE"))["d"]
        assert [c["name"] for c in guild["channels"]] == ["general", "random"]
        assert {m["user"]["username"] for m in guild["members"]} == {"imagine", "owner", "alice", "bob"}
        await gateway.send(1, 2)
        assert (await gateway.receive())["op"] == 11
        await gateway.ws.close()


@run_async
async def test_bad_token_closes_with_4004() -> None:
    """IDENTIFY with the wrong token closes the socket with 4004 Authentication failed."""
    async with scene() as s, aiohttp.ClientSession() as http:
        gateway = await _connect(http, s.discord, None)
        await gateway.receive()
        await gateway.send(2, {**_identify(s.discord), "token": "wrong"})
        with pytest.raises(ConnectionError):
            await gateway.receive()
        assert gateway.ws.close_code == 4004


@run_async
async def test_identify_without_an_object_closes_with_4002() -> None:
    """IDENTIFY whose data is not an object closes the socket with 4002 Decode error."""
    async with scene() as s, aiohttp.ClientSession() as http:
        gateway = await _connect(http, s.discord, None)
        await gateway.receive()
        await gateway.send(2, None)
        with pytest.raises(ConnectionError):
            await gateway.receive()
        assert gateway.ws.close_code == 4002


@run_async
async def test_resume_replays_what_happened_while_away() -> None:
    """Events during a disconnection are replayed, in order, on RESUME, followed by RESUMED."""
    async with scene() as s, aiohttp.ClientSession() as http:
        # 4000 is what a reconnecting client sends: any code but 1000/1001 keeps the session.
        intents = GUILDS_AND_MESSAGES | MESSAGE_CONTENT
        session_id, last_seq = await _session_then_close(http, s.discord, "zlib-stream", intents, 4000)
        await s.discord.world.wait_until(lambda: not s.discord.emulator.gateway.connected, timeout=5)
        await s.discord.say(s.general, s.alice, "one")
        await s.discord.say(s.general, s.bob, "two")

        second = await _resume(http, s.discord, "zlib-stream", session_id, last_seq)
        replayed = [await second.receive() for _ in range(3)]
        assert [(p["t"], p["s"]) for p in replayed] == [
            ("MESSAGE_CREATE", last_seq + 1),
            ("MESSAGE_CREATE", last_seq + 2),
            ("RESUMED", last_seq + 3),
        ]
        assert [p["d"]["content"] for p in replayed[:2]] == ["one", "two"]
        await second.ws.close()


@run_async
async def test_resume_of_an_unknown_session_is_invalidated() -> None:
    """RESUME with a session id the gateway does not know gets INVALID_SESSION (not resumable)."""
    async with scene() as s, aiohttp.ClientSession() as http:
        gateway = await _resume(http, s.discord, None, "nope", 3)
        assert await gateway.receive() == {"op": 9, "d": False}
        await gateway.ws.close()


@run_async
async def test_normal_close_ends_the_session() -> None:
    """Closing with 1000 ends the session as Discord does (the bot shows offline): a later RESUME is invalidated."""
    async with scene() as s, aiohttp.ClientSession() as http:
        session_id, last_seq = await _session_then_close(http, s.discord, None, GUILDS_AND_MESSAGES, 1000)
        await s.discord.world.wait_until(lambda: s.discord.emulator.gateway.session is None, timeout=5)
        assert s.discord.emulator.gateway.close_codes[-1] == 1000

        second = await _resume(http, s.discord, None, session_id, last_seq)
        assert await second.receive() == {"op": 9, "d": False}
        await second.ws.close()


@run_async
async def test_without_message_content_intent_others_messages_are_blank() -> None:
    """A bot without the message content intent sees other people's guild messages with empty content."""
    async with scene() as s, aiohttp.ClientSession() as http:
        gateway = await _connect(http, s.discord, None)
        await gateway.receive()
        await gateway.send(2, _identify(s.discord))
        await gateway.until("GUILD_CREATE")
        await s.discord.say(s.general, s.alice, "secret")
        await s.discord.say(s.discord.dm(s.alice), s.alice, "in a dm")
        guild_message = (await gateway.until("MESSAGE_CREATE"))["d"]
        dm_message = (await gateway.until("MESSAGE_CREATE"))["d"]
        assert guild_message["content"] == "" and guild_message["author"]["username"] == "alice"
        assert dm_message["content"] == "in a dm" and "guild_id" not in dm_message
        await gateway.ws.close()


@run_async
async def test_guild_added_while_connected_is_announced() -> None:
    """A guild created after READY reaches the bot as GUILD_CREATE."""
    async with scene() as s, aiohttp.ClientSession() as http:
        gateway = await _connect(http, s.discord, None)
        await gateway.receive()
        await gateway.send(2, _identify(s.discord))
        await gateway.until("GUILD_CREATE")
        s.discord.add_guild("second", members=[s.bob])
        created = (await gateway.until("GUILD_CREATE"))["d"]
        assert created["name"] == "second" and len(created["members"]) == 3
        await gateway.ws.close()

"""The sandbox's web page: a Discord-like channel view where a person uses the bot as they would on Discord.

The page (``sandbox/static``) talks to a small API on its own port: a websocket that pushes snapshots of the watched
channel, and POSTs for what people do (a slash command, a click, a select, a modal). Each action goes through the
`Sandbox` client, so the bot receives exactly the INTERACTION_CREATE Discord would send, and the emulator's rules
apply as in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from sandbox import routes_messages
from sandbox.client import Sandbox
from sandbox.httpkit import WORLD
from sandbox.models import Channel, Interaction, Message, User
from sandbox.typed_commands import TypedCommandError, parse_typed
from sandbox.web_view import commands_for, messages_json, state_json
from sandbox.world import World

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
ANSWER_TIMEOUT_S = 3.5  # Discord's 3 s for the bot's first answer, plus a little for the trip
REFRESH_S = 2.0  # a snapshot is recomputed at least this often (the bot going on/offline, commands synced)

Action = Callable[[dict[str, Any], User], Awaitable[dict[str, Any]]]  # a POST body and its user → the answer
Route = Callable[[web.Request], Awaitable[web.Response]]


class ActionError(Exception):
    """What a person tried cannot be done; the message is shown on the page as Discord's client would show it."""


class WebUI:
    """The page and its API for one Sandbox, served on its own port."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.world = sandbox.world
        self.app = self._build_app()
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.url = ""

    def _build_app(self) -> web.Application:
        app = web.Application()
        app[WORLD] = self.world  # the attachment route finds the bytes through it
        app.router.add_get("/", self._index)
        app.router.add_static("/static", STATIC)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", routes_messages.attachment)
        app.router.add_get("/api/ws", self._socket)
        app.router.add_post("/api/send", self._action(self._send))
        app.router.add_post("/api/click", self._action(self._click))
        app.router.add_post("/api/select", self._action(self._select))
        app.router.add_post("/api/modal", self._action(self._modal))
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 8080) -> str:
        """Serve the page on host:port (0: an ephemeral port) and return its URL."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        addresses = self._runner.addresses  # (host, port) of each bound socket: the real port when 0 was asked for
        self.url = f"http://{host}:{addresses[0][1] if addresses else port}"
        log.info("sandbox web page at %s", self.url)
        return self.url

    async def stop(self) -> None:
        """Close open pages' sockets and stop serving."""
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # the page and its live view

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Push a snapshot of the watched channel whenever it changes; the page says what to watch."""
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        self._sockets.add(ws)
        watch: dict[str, Any] = {}
        changed = asyncio.Event()
        pusher = asyncio.create_task(self._push(ws, watch, changed))
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    watch.update(json.loads(message.data))
                    changed.set()
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
            self._sockets.discard(ws)
        return ws

    async def _push(self, ws: web.WebSocketResponse, watch: dict[str, Any], changed: asyncio.Event) -> None:
        last = ""
        while not ws.closed:
            seen = self.world.revision
            moved = functools.partial(_moved_on, self.world, seen, changed)
            payload = json.dumps(self._snapshot(watch))
            if payload != last:
                await ws.send_str(payload)
                last = payload
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await self.world.wait_until(moved, REFRESH_S)

    def _snapshot(self, watch: dict[str, Any]) -> dict[str, Any]:
        viewer = self._find_user(watch.get("user_id"))
        channel = self._find_channel(watch.get("channel_id"))
        snapshot = state_json(self.sandbox, viewer, channel)
        snapshot["channel_id"] = str(channel.id) if channel else None
        snapshot["messages"] = messages_json(self.sandbox, channel, viewer) if channel and viewer else []
        return snapshot

    # what people do

    def _action(self, handler: Action) -> Route:
        async def route(request: web.Request) -> web.Response:
            try:
                body = await request.json()
                result = await handler(body, self._user(body.get("user_id")))
            except ActionError as exc:
                return web.json_response({"ok": False, "error": str(exc)})
            except (ValueError, KeyError, LookupError, TypeError) as exc:
                # The client API refuses what Discord's client would not even offer (a disabled button, a value
                # the select lacks, an undeclared option): the page shows why instead of failing.
                return web.json_response({"ok": False, "error": str(exc).strip("'\"")})
            return web.json_response({"ok": True, **result})

        return route

    async def _send(self, body: dict[str, Any], user: User) -> dict[str, Any]:
        """A line from the message box: a slash command, or a plain message."""
        channel = self._channel(body.get("channel_id"))
        text = str(body.get("text") or "").strip()
        if not text:
            raise ActionError("Type a message or a command such as /imagine a red fox")
        if not text.startswith("/"):
            await self.sandbox.say(channel, user, text[:2000])
            return {}
        specs = [{**c.spec, "name": c.name, "type": c.type} for c in commands_for(self.sandbox, channel)]
        if not specs and not self.sandbox.emulator.gateway.connected:
            raise ActionError(f"{self.world.bot.username} is not connected yet: wait for the green dot at the top")
        try:
            typed = parse_typed(text, specs, list(self.world.users.values()))
        except TypedCommandError as exc:
            raise ActionError(str(exc)) from None
        log.info("web: %s runs /%s in %s", user.username, typed.name, channel)
        interaction = await self.sandbox.slash(typed.name, user=user, channel=channel, wait=False, **typed.options)
        return await self._answered(interaction)

    async def _click(self, body: dict[str, Any], user: User) -> dict[str, Any]:
        message = self._message(body)
        interaction = await self.sandbox.click(message, str(body.get("custom_id")), user=user, wait=False)
        return await self._answered(interaction)

    async def _select(self, body: dict[str, Any], user: User) -> dict[str, Any]:
        message = self._message(body)
        values = [str(v) for v in body.get("values") or []]
        interaction = await self.sandbox.select(message, str(body.get("custom_id")), values, user=user, wait=False)
        return await self._answered(interaction)

    async def _modal(self, body: dict[str, Any], user: User) -> dict[str, Any]:
        opened_by = self.world.interactions.get(_snowflake(body.get("interaction_id")))
        if opened_by is None or opened_by.user is not user:
            raise ActionError("That form is no longer open")
        values = {str(k): str(v) for k, v in (body.get("values") or {}).items()}
        interaction = await self.sandbox.submit_modal(opened_by, values, wait=False)
        return await self._answered(interaction)

    async def _answered(self, interaction: Interaction) -> dict[str, Any]:
        """Wait for the bot's first answer; a modal comes back to the page, silence becomes Discord's error."""
        try:
            await self.sandbox.wait_for_response(interaction, ANSWER_TIMEOUT_S)
        except TimeoutError:
            if not self.sandbox.emulator.gateway.connected:
                raise ActionError("The bot is offline: is it running and pointed at this sandbox?") from None
            raise ActionError("The application did not respond") from None
        if interaction.modal is not None:
            return {"modal": {"interaction_id": str(interaction.id), **interaction.modal}}
        return {}

    # lookups

    def _find_user(self, raw: Any) -> User | None:
        user = self.world.users.get(_snowflake(raw))
        return None if user is None or user.bot else user

    def _user(self, raw: Any) -> User:
        user = self._find_user(raw)
        if user is None:
            raise ActionError("Pick who you are in the user menu first")
        return user

    def _find_channel(self, raw: Any) -> Channel | None:
        return self.world.channels.get(_snowflake(raw))

    def _channel(self, raw: Any) -> Channel:
        channel = self._find_channel(raw)
        if channel is None:
            raise ActionError("Pick a channel first")
        return channel

    def _message(self, body: dict[str, Any]) -> Message:
        channel = self._channel(body.get("channel_id"))
        message = self.world.find_message(channel.id, _snowflake(body.get("message_id")))
        if message is None:
            raise ActionError("Unknown message: it was deleted")
        return message


def _snowflake(raw: Any) -> int:
    """An id as the page sends it (a string, since JavaScript numbers cannot hold 64 bits); 0 when unusable."""
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        return 0


def _moved_on(world: World, seen: int, changed: asyncio.Event) -> bool:
    """Whether the world changed since revision `seen`, or the page asked to watch something else."""
    return world.revision != seen or changed.is_set()

"""The emulator process: one World, its REST API, gateway and attachment CDN on one aiohttp server."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from sandbox import routes_app, routes_guilds, routes_interactions, routes_messages
from sandbox.clock import Clock
from sandbox.gateway import Gateway
from sandbox.httpkit import GATEWAY, WORLD
from sandbox.middleware import API_PREFIX, ForcedError, ForcedRateLimit, Traffic, build_middleware
from sandbox.rules import Violations
from sandbox.schema import SpecValidator
from sandbox.world import World

log = logging.getLogger(__name__)


class Emulator:
    """A local Discord for one bot: state, rule enforcement and the server that speaks Discord's protocols."""

    def __init__(
        self,
        *,
        spec_path: Path | None = None,
        validate: bool = True,
        bot_name: str = "imagine",
        bot_token: str | None = None,
    ) -> None:
        self.clock = Clock()
        self.world = World(self.clock, bot_name=bot_name, bot_token=bot_token)
        self.violations = Violations()
        self.traffic = Traffic()
        self.validator = SpecValidator.load(spec_path) if validate else None
        self.gateway = Gateway(self.world)
        self.app = self._build_app()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    @property
    def api_url(self) -> str:
        """What discord.py's `Route.BASE` must be set to."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """The websocket URL bots connect to."""
        return self.base_url.replace("http://", "ws://", 1) + "/gateway"

    def _build_app(self) -> web.Application:
        middleware = build_middleware(self.world.bot_token, self.validator, self.violations, self.traffic)
        app = web.Application(middlewares=[middleware], client_max_size=64 * 1024 * 1024)
        app[WORLD] = self.world
        app[GATEWAY] = self.gateway
        # Order matters where templates overlap: /users/@me must be tried before /users/{user_id}.
        for table in (routes_app.routes, routes_messages.routes, routes_interactions.routes, routes_guilds.routes):
            for route in table:
                assert isinstance(route, web.RouteDef)
                app.router.add_route(route.method, API_PREFIX + route.path, route.handler)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", routes_guilds.not_emulated)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", routes_messages.attachment)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0: an ephemeral port) and return the base URL."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        addresses = self._runner.addresses  # (host, port) of each bound socket: the real port when 0 was asked for
        bound_port = addresses[0][1] if addresses else port
        self.base_url = f"http://{host}:{bound_port}"
        self.world.base_url = self.base_url
        self.gateway.url = self.gateway_url
        log.info("Discord emulator listening on %s", self.base_url)
        return self.base_url

    async def stop(self) -> None:
        """Close every connection and stop serving."""
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def force_rate_limit(self, route: str | None = None, *, retry_after: float = 0.25, is_global: bool = False) -> None:
        """Answer the next request for `route` ("POST /channels/{channel_id}/messages"; None: any) with a 429."""
        self.traffic.forced.append(ForcedRateLimit(route, retry_after, is_global))

    def force_error(self, route: str | None, status: int, code: int, message: str) -> None:
        """Answer the next request for `route` with this error instead of serving it."""
        self.traffic.forced.append(ForcedError(route, status, code, message))

"""aiohttp glue shared by the routes: typed app/request keys and Discord-exact JSON responses."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.gateway import Gateway
    from sandbox.world import Upload, World

WORLD: web.AppKey[World] = web.AppKey("world")
GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway")
BODY: web.RequestKey[Any] = web.RequestKey("body")
UPLOADS: web.RequestKey[list[Upload]] = web.RequestKey("uploads")


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response whose Content-Type is exactly `application/json`, as Discord's is.

    discord.py only parses a body as JSON on that exact header; aiohttp's own helper appends a charset.
    """
    response = web.Response(body=json.dumps(data).encode(), status=status, headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response

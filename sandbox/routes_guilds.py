"""REST routes for looking up users, guilds and members; and a catch-all that names what is not emulated."""

from __future__ import annotations

from aiohttp import web

from sandbox import payloads
from sandbox.errors import DiscordError, unknown
from sandbox.httpkit import json_response
from sandbox.models import Guild
from sandbox.routes_app import snowflake_param, world_of
from sandbox.rules import Rule

routes = web.RouteTableDef()


def _guild(request: web.Request) -> Guild:
    guild = world_of(request).guilds.get(snowflake_param(request, "guild_id"))
    if guild is None:
        raise unknown("Guild", 10004)
    return guild


@routes.get("/users/{user_id}")
async def get_user(request: web.Request) -> web.Response:
    """Any user by id."""
    user = world_of(request).users.get(snowflake_param(request, "user_id"))
    if user is None:
        raise unknown("User", 10013)
    return json_response(payloads.user_json(user))


@routes.get("/guilds/{guild_id}")
async def get_guild(request: web.Request) -> web.Response:
    """A guild, without the gateway-only fields."""
    world = world_of(request)
    data = payloads.guild_json(_guild(request), world.joined_at)
    for gateway_only in ("channels", "members", "threads", "voice_states", "presences", "joined_at", "large"):
        data.pop(gateway_only, None)
    return json_response(data)


@routes.get("/guilds/{guild_id}/channels")
async def list_channels(request: web.Request) -> web.Response:
    """A guild's channels."""
    return json_response([payloads.channel_json(c) for c in _guild(request).channels])


@routes.get("/guilds/{guild_id}/members/{user_id}")
async def get_member(request: web.Request) -> web.Response:
    """One member of a guild."""
    world = world_of(request)
    guild = _guild(request)
    user_id = snowflake_param(request, "user_id")
    for user in guild.members:
        if user.id == user_id:
            return json_response(payloads.member_json(user, world.joined_at))
    raise unknown("Member", 10007)


async def not_emulated(request: web.Request) -> web.Response:
    """Any other API route: a 404 recorded as a violation, so a test learns the emulator lacks it."""
    path = request.path.removeprefix("/api/v10")
    detail = f"404: Not Found (the emulator does not implement {request.method} {path})"
    raise DiscordError(404, 0, detail, rule=Rule.NOT_EMULATED)

"""REST routes about the bot itself: gateway discovery, its user, its application and its commands."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox import payloads
from sandbox.errors import UNKNOWN_APPLICATION, UNKNOWN_COMMAND, DiscordError, unknown
from sandbox.httpkit import BODY, GATEWAY, WORLD, json_response
from sandbox.models import Command
from sandbox.world import World

routes = web.RouteTableDef()


def world_of(request: web.Request) -> World:
    """The World this app serves."""
    return request.app[WORLD]


def snowflake_param(request: web.Request, name: str) -> int:
    """A snowflake path parameter; a non-number is answered as Discord does, with a 404."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise DiscordError(404, 0, "404: Not Found") from None


@routes.get("/gateway/bot")
async def gateway_bot(request: web.Request) -> web.Response:
    """Where to connect, for a bot that asks (discord.py's AutoShardedClient does; the plain Client does not)."""
    return json_response(
        {
            "url": request.app[GATEWAY].url,
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1},
        }
    )


@routes.get("/gateway")
async def gateway(request: web.Request) -> web.Response:
    """Where to connect, without sharding advice."""
    return json_response({"url": request.app[GATEWAY].url})


@routes.get("/users/@me")
async def current_user(request: web.Request) -> web.Response:
    """The bot's own user, which discord.py fetches to log in."""
    world = world_of(request)
    data = payloads.user_json(world.bot)
    data.update({"verified": True, "mfa_enabled": False, "locale": "en-US"})
    return json_response(data)


@routes.get("/applications/@me")
@routes.get("/oauth2/applications/@me")
async def application(request: web.Request) -> web.Response:
    """The bot's application."""
    world = world_of(request)
    return json_response(
        {
            "id": str(world.application_id),
            "name": world.bot.username,
            "icon": None,
            "description": "",
            "summary": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": payloads.user_json(world.owner),
            "team": None,
            "bot": payloads.user_json(world.bot),
            "redirect_uris": [],
            "tags": [],
        }
    )


def _check_application(request: web.Request) -> World:
    world = world_of(request)
    if snowflake_param(request, "application_id") != world.application_id:
        raise unknown("Application", UNKNOWN_APPLICATION)
    return world


def _guild_id(request: web.Request) -> int | None:
    if "guild_id" not in request.match_info:
        return None
    guild_id = snowflake_param(request, "guild_id")
    if guild_id not in world_of(request).guilds:
        raise unknown("Guild", 10004)
    return guild_id


def command_json(command: Command) -> dict[str, Any]:
    """A registered command as Discord returns it: the bot's definition plus ids and defaults."""
    data: dict[str, Any] = {
        "type": 1,
        "description": "",
        "options": [],
        "default_member_permissions": None,
        "nsfw": False,
        **command.spec,
        "id": str(command.id),
        "application_id": str(command.application_id),
        "version": str(command.id),
    }
    if command.guild_id is not None:
        data["guild_id"] = str(command.guild_id)
    return data


def _scope(world: World, guild_id: int | None) -> list[Command]:
    return [c for c in world.commands.values() if c.guild_id == guild_id]


@routes.get("/applications/{application_id}/commands")
@routes.get("/applications/{application_id}/guilds/{guild_id}/commands")
async def list_commands(request: web.Request) -> web.Response:
    """The commands registered globally or in one guild."""
    world = _check_application(request)
    return json_response([command_json(c) for c in _scope(world, _guild_id(request))])


@routes.put("/applications/{application_id}/commands")
@routes.put("/applications/{application_id}/guilds/{guild_id}/commands")
async def overwrite_commands(request: web.Request) -> web.Response:
    """Bulk overwrite: the given list replaces every command in that scope (ids kept for unchanged names)."""
    world = _check_application(request)
    guild_id = _guild_id(request)
    old = {(c.name, c.type): c for c in _scope(world, guild_id)}
    for command in old.values():
        del world.commands[command.id]
    created = []
    for spec in request[BODY] or []:
        kind = int(spec.get("type") or 1)
        previous = old.get((spec["name"], kind))
        command = Command(
            id=previous.id if previous else world.snowflake(),
            application_id=world.application_id,
            guild_id=guild_id,
            name=spec["name"],
            type=kind,
            spec=spec,
        )
        world.commands[command.id] = command
        created.append(command_json(command))
    return json_response(created)


@routes.post("/applications/{application_id}/commands")
@routes.post("/applications/{application_id}/guilds/{guild_id}/commands")
async def upsert_command(request: web.Request) -> web.Response:
    """Create one command, replacing any of the same name and type in that scope."""
    world = _check_application(request)
    guild_id = _guild_id(request)
    spec = request[BODY]
    kind = int(spec.get("type") or 1)
    for command in _scope(world, guild_id):
        if (command.name, command.type) == (spec["name"], kind):
            del world.commands[command.id]
    command = Command(world.snowflake(), world.application_id, guild_id, spec["name"], kind, spec)
    world.commands[command.id] = command
    return json_response(command_json(command), status=201)


@routes.delete("/applications/{application_id}/commands/{command_id}")
@routes.delete("/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def delete_command(request: web.Request) -> web.Response:
    """Delete one command."""
    world = _check_application(request)
    command = world.commands.pop(snowflake_param(request, "command_id"), None)
    if command is None:
        raise unknown("application command", UNKNOWN_COMMAND)
    return web.Response(status=204)

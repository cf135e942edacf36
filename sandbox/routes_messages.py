"""REST routes for channels and their messages, and the "CDN" that serves attachment bytes."""

from __future__ import annotations

from aiohttp import web

from sandbox import payloads
from sandbox.errors import UNKNOWN_CHANNEL, UNKNOWN_MESSAGE, DiscordError, unknown
from sandbox.httpkit import BODY, UPLOADS, json_response
from sandbox.message_bodies import apply_edit, create_fields
from sandbox.models import Channel, Message, MessageFlags
from sandbox.routes_app import snowflake_param, world_of
from sandbox.rules import NONCE_WINDOW_S

routes = web.RouteTableDef()


def _channel(request: web.Request) -> Channel:
    channel = world_of(request).channels.get(snowflake_param(request, "channel_id"))
    if channel is None:
        raise unknown("Channel", UNKNOWN_CHANNEL)
    return channel


def _message(request: web.Request, channel: Channel) -> Message:
    message = world_of(request).find_message(channel.id, snowflake_param(request, "message_id"))
    # The bot never sees ephemeral messages through the channel API.
    if message is None or message.ephemeral:
        raise unknown("Message", UNKNOWN_MESSAGE)
    return message


@routes.get("/channels/{channel_id}")
async def get_channel(request: web.Request) -> web.Response:
    """One channel."""
    return json_response(payloads.channel_json(_channel(request)))


@routes.post("/users/@me/channels")
async def open_dm(request: web.Request) -> web.Response:
    """The DM channel with a user, created on first use."""
    world = world_of(request)
    user = world.users.get(int(request[BODY]["recipient_id"]))
    if user is None:
        raise unknown("User", 10013)
    return json_response(payloads.channel_json(world.dm_channel(user)))


@routes.post("/channels/{channel_id}/typing")
async def typing(request: web.Request) -> web.Response:
    """The typing indicator: accepted and forgotten."""
    _channel(request)
    return web.Response(status=204)


@routes.get("/channels/{channel_id}/messages")
async def list_messages(request: web.Request) -> web.Response:
    """Recent messages, newest first, honouring limit/before/after."""
    world = world_of(request)
    channel = _channel(request)
    limit = max(1, min(int(request.query.get("limit", 50)), 100))
    before = int(request.query.get("before", 0)) or None
    after = int(request.query.get("after", 0)) or None
    found = [m for m in world.messages[channel.id] if not m.ephemeral]
    if before is not None:
        found = [m for m in found if m.id < before]
    if after is not None:
        found = [m for m in found if m.id > after]
    oldest_first = sorted(found, key=lambda m: m.id)
    # Discord answers `after` with the messages right after it, and otherwise with the latest; newest first.
    page = oldest_first[:limit] if after is not None and before is None else oldest_first[-limit:]
    return json_response([world.message_json(m) for m in reversed(page)])


@routes.get("/channels/{channel_id}/messages/{message_id}")
async def get_message(request: web.Request) -> web.Response:
    """One message."""
    world = world_of(request)
    return json_response(world.message_json(_message(request, _channel(request))))


@routes.post("/channels/{channel_id}/messages")
async def create_message(request: web.Request) -> web.Response:
    """Post as the bot, with optional files, components and a reply reference.

    With ``nonce`` and ``enforce_nonce``, a repeat of a nonce the bot used within NONCE_WINDOW_S creates nothing
    and answers with the message the first request created, as Discord does.
    """
    world = world_of(request)
    channel = _channel(request)
    body = request[BODY] or {}
    nonce = None if body.get("nonce") is None else str(body["nonce"])
    if nonce is not None and body.get("enforce_nonce"):
        earlier = world.message_for_nonce(world.bot, nonce, NONCE_WINDOW_S)
        if earlier is not None:
            return json_response(world.message_json(earlier))
    fields = create_fields(world, channel, body, request[UPLOADS])
    fields["flags"] &= ~MessageFlags.EPHEMERAL  # only interaction responses can be ephemeral
    message = world.post_message(channel, world.bot, nonce=nonce, **fields)
    return json_response(world.message_json(message))


@routes.patch("/channels/{channel_id}/messages/{message_id}")
async def edit_message(request: web.Request) -> web.Response:
    """Edit one of the bot's messages."""
    world = world_of(request)
    message = _message(request, _channel(request))
    if message.author is not world.bot:
        raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
    apply_edit(world, message, request[BODY], request[UPLOADS])
    world.message_updated(message)
    return json_response(world.message_json(message))


@routes.delete("/channels/{channel_id}/messages/{message_id}")
async def delete_message(request: web.Request) -> web.Response:
    """Delete a message."""
    world = world_of(request)
    world.delete_message(_message(request, _channel(request)))
    return web.Response(status=204)


async def attachment(request: web.Request) -> web.Response:
    """The bytes of an attachment, as Discord's CDN would serve them."""
    world = world_of(request)
    channel_id = int(request.match_info["channel_id"])
    attachment_id = int(request.match_info["attachment_id"])
    for message in world.messages.get(channel_id, []):
        for item in message.attachments:
            if item.id == attachment_id:
                return web.Response(body=item.data, content_type=item.content_type or "application/octet-stream")
    raise web.HTTPNotFound()

"""REST routes for answering interactions: the initial callback, `@original`, and follow-up webhooks.

Discord's interaction rules live here: one initial response within 3 seconds, then a token that works for 15
minutes. Both are checked against the emulator's clock, which tests can advance.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.errors import (
    ALREADY_ACKNOWLEDGED,
    INVALID_WEBHOOK_TOKEN,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    DiscordError,
)
from sandbox.httpkit import BODY, UPLOADS, json_response
from sandbox.message_bodies import apply_edit, create_fields
from sandbox.models import CallbackType, Interaction, InteractionType, Message, MessageFlags
from sandbox.routes_app import snowflake_param, world_of
from sandbox.rules import INITIAL_RESPONSE_DEADLINE_S, TOKEN_LIFETIME_S, Rule
from sandbox.world import World

routes = web.RouteTableDef()

CHAT_INPUT_COMMAND = 20  # message type of a response to a slash command
_COMPONENT_ONLY = (CallbackType.DEFERRED_UPDATE_MESSAGE, CallbackType.UPDATE_MESSAGE)


def _respond_message(world: World, interaction: Interaction, fields: dict[str, Any]) -> Message:
    kind = CHAT_INPUT_COMMAND if interaction.type is InteractionType.APPLICATION_COMMAND else 0
    return world.post_message(interaction.channel, world.bot, type=kind, interaction=interaction, **fields)


@routes.post("/interactions/{interaction_id}/{interaction_token}/callback")
async def callback(request: web.Request) -> web.Response:
    """The initial response: a message (4), a deferral (5, 6), an update of the clicked message (7) or a modal (9)."""
    world = world_of(request)
    interaction = world.interactions.get(snowflake_param(request, "interaction_id"))
    if interaction is None or interaction.token != request.match_info["interaction_token"]:
        raise DiscordError(404, UNKNOWN_INTERACTION, "Unknown interaction", rule=Rule.NOT_FOUND)
    if interaction.responded:
        raise DiscordError(
            400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.", rule=Rule.ALREADY_ACKNOWLEDGED
        )
    waited = world.clock.now() - interaction.created_at
    if waited > INITIAL_RESPONSE_DEADLINE_S:
        detail = f"Unknown interaction (responded after {waited:.1f}s, limit {INITIAL_RESPONSE_DEADLINE_S:.0f}s)"
        interaction.refused_late = True
        raise DiscordError(404, UNKNOWN_INTERACTION, detail, rule=Rule.LATE_RESPONSE)
    body = request[BODY] or {}
    kind = _callback_type(body.get("type"), interaction)
    data = body.get("data") or {}
    _apply_callback(world, interaction, kind, data, request)
    interaction.callback_type = kind
    world.notify()  # wake tests waiting for the response
    if "with_response" not in request.query or request.query["with_response"] in ("0", "false"):
        return web.Response(status=204)
    return json_response(_callback_response(world, interaction, kind))


def _callback_type(value: Any, interaction: Interaction) -> CallbackType:
    try:
        kind = CallbackType(value)
    except ValueError:
        raise DiscordError(400, 50035, f"Invalid callback type {value!r}", rule=Rule.BAD_CALLBACK) from None
    if kind in _COMPONENT_ONLY and interaction.message is None:
        detail = f"callback type {int(kind)} only answers a click (or a modal opened from one)"
        raise DiscordError(400, 50035, detail, rule=Rule.BAD_CALLBACK)
    if kind is CallbackType.MODAL and interaction.type is InteractionType.MODAL_SUBMIT:
        raise DiscordError(400, 50035, "a modal submission cannot be answered with a modal", rule=Rule.BAD_CALLBACK)
    return kind


def _apply_callback(
    world: World, interaction: Interaction, kind: CallbackType, data: dict[str, Any], request: web.Request
) -> None:
    uploads = request[UPLOADS]
    if kind is CallbackType.CHANNEL_MESSAGE_WITH_SOURCE:
        fields = create_fields(world, interaction.channel, data, uploads)
        interaction.original = _respond_message(world, interaction, fields)
    elif kind is CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
        flags = MessageFlags.LOADING | (int(data.get("flags") or 0) & MessageFlags.EPHEMERAL)
        interaction.original = _respond_message(world, interaction, {"flags": flags})
    elif kind in _COMPONENT_ONLY:
        # For a component, "the original response" is the message the component is on.
        interaction.original = interaction.message
        if kind is CallbackType.UPDATE_MESSAGE and interaction.message is not None:
            apply_edit(world, interaction.message, data, uploads)
            world.message_updated(interaction.message)
    elif kind is CallbackType.MODAL:
        interaction.modal = data


def _callback_response(world: World, interaction: Interaction, kind: CallbackType) -> dict[str, Any]:
    summary: dict[str, Any] = {"id": str(interaction.id), "type": int(interaction.type)}
    response: dict[str, Any] = {"interaction": summary}
    message = interaction.original
    if kind is not CallbackType.MODAL and message is not None:
        summary.update(
            response_message_id=str(message.id),
            response_message_loading=message.loading,
            response_message_ephemeral=message.ephemeral,
        )
        response["resource"] = {"type": int(kind), "message": world.message_json(message)}
    else:
        response["resource"] = {"type": int(kind)}
    return response


def _interaction(request: web.Request) -> Interaction:
    """The interaction a webhook URL names; raises DiscordError when unknown or its token has expired."""
    world = world_of(request)
    if snowflake_param(request, "webhook_id") != world.application_id:
        raise DiscordError(404, UNKNOWN_WEBHOOK, "Unknown Webhook", rule=Rule.NOT_FOUND)
    interaction = world.interaction_by_token(request.match_info["webhook_token"])
    if interaction is None:
        raise DiscordError(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token", rule=Rule.NOT_FOUND)
    age = world.clock.now() - interaction.created_at
    if age > TOKEN_LIFETIME_S:
        detail = f"Invalid Webhook Token (interaction token is {age / 60:.1f} min old, lifetime 15 min)"
        raise DiscordError(401, INVALID_WEBHOOK_TOKEN, detail, rule=Rule.TOKEN_EXPIRED)
    if not interaction.responded:
        detail = "Unknown Webhook (no initial response to this interaction yet)"
        raise DiscordError(404, UNKNOWN_WEBHOOK, detail, rule=Rule.NOT_ACKNOWLEDGED)
    return interaction


def _target(request: web.Request, interaction: Interaction) -> Message:
    raw = request.match_info.get("message_id", "@original")
    if raw == "@original":
        message = interaction.original
    else:
        wanted = snowflake_param(request, "message_id")
        candidates = [interaction.original, *interaction.followups]
        message = next((m for m in candidates if m is not None and m.id == wanted), None)
    if message is None or message.deleted:
        raise DiscordError(404, UNKNOWN_MESSAGE, "Unknown Message")
    return message


@routes.post("/webhooks/{webhook_id}/{webhook_token}")
async def followup(request: web.Request) -> web.Response:
    """A follow-up message; after a deferral the first one fills the "thinking…" message, as on Discord."""
    world = world_of(request)
    interaction = _interaction(request)
    body, uploads = request[BODY] or {}, request[UPLOADS]
    original = interaction.original
    if original is not None and original.loading and not interaction.followups:
        apply_edit(world, original, body, uploads)
        world.message_updated(original)
        message = original
    else:
        message = _respond_message(world, interaction, create_fields(world, interaction.channel, body, uploads))
    interaction.followups.append(message)
    if request.query.get("wait") in ("1", "true", "True"):
        return json_response(world.message_json(message))
    return web.Response(status=204)


@routes.get("/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
@routes.get("/webhooks/{webhook_id}/{webhook_token}/messages/@original")
async def get_response(request: web.Request) -> web.Response:
    """The original response or a follow-up."""
    world = world_of(request)
    return json_response(world.message_json(_target(request, _interaction(request))))


@routes.patch("/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
@routes.patch("/webhooks/{webhook_id}/{webhook_token}/messages/@original")
async def edit_response(request: web.Request) -> web.Response:
    """Edit the original response or a follow-up."""
    world = world_of(request)
    message = _target(request, _interaction(request))
    apply_edit(world, message, request[BODY] or {}, request[UPLOADS])
    world.message_updated(message)
    return json_response(world.message_json(message))


@routes.delete("/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
@routes.delete("/webhooks/{webhook_id}/{webhook_token}/messages/@original")
async def delete_response(request: web.Request) -> web.Response:
    """Delete the original response or a follow-up."""
    world = world_of(request)
    message = _target(request, _interaction(request))
    if message.ephemeral:
        message.deleted = True
        world.messages[message.channel_id].remove(message)
    else:
        world.delete_message(message)
    return web.Response(status=204)

"""Turning a create or edit body (JSON plus uploaded files) into message fields, under Discord's limits.

Channel messages, interaction responses and webhook follow-ups all carry the same body, so they share this.
"""

from __future__ import annotations

from typing import Any

from sandbox.errors import INVALID_FORM_BODY, DiscordError, broken_rules
from sandbox.models import Channel, Message, MessageFlags
from sandbox.rules import check_message
from sandbox.world import Upload, World

REPLY = 19  # message type of a message with a message_reference


def _check(body: dict[str, Any], files: list[tuple[str, bytes]], *, editing: bool) -> None:
    found = check_message(body, files, editing=editing)
    if found:
        raise broken_rules(found)


def create_fields(world: World, channel: Channel, body: dict[str, Any], uploads: list[Upload]) -> dict[str, Any]:
    """Fields for a new message; raises DiscordError when the body breaks a limit or references a missing message."""
    body = body or {}
    _check(body, [(u.filename, u.data) for u in uploads], editing=False)
    fields: dict[str, Any] = {
        "content": body.get("content") or "",
        "embeds": body.get("embeds") or [],
        "components": body.get("components") or [],
        "attachments": world.make_attachments(uploads, body.get("attachments") or []),
        # Only these flags are the sender's to set; the rest are Discord's.
        "flags": int(body.get("flags") or 0) & (MessageFlags.EPHEMERAL | 1 << 2 | 1 << 12 | 1 << 15),
    }
    reference = body.get("message_reference")
    if reference:
        fields["message_reference"] = _reference(world, channel, reference)
        if fields["message_reference"] is not None:
            fields["type"] = REPLY
    return fields


def _reference(world: World, channel: Channel, reference: dict[str, Any]) -> dict[str, Any] | None:
    channel_id = int(reference.get("channel_id") or channel.id)
    target = world.find_message(channel_id, int(reference.get("message_id") or 0))
    if target is None:
        if reference.get("fail_if_not_exists", True):
            errors = {"message_reference": {"_errors": [{"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE"}]}}
            raise DiscordError(400, INVALID_FORM_BODY, "Invalid Form Body: unknown message_reference", errors=errors)
        return None
    data = {"type": 0, "message_id": str(target.id), "channel_id": str(channel_id)}
    guild = world.guild_of(world.channels[channel_id])
    if guild is not None:
        data["guild_id"] = str(guild.id)
    return data


def apply_edit(world: World, message: Message, body: dict[str, Any], uploads: list[Upload]) -> None:
    """Edit `message` in place: given fields replace old ones; `attachments` lists the attachments to keep.

    Raises DiscordError, leaving the message untouched, when the edit breaks a limit or would empty the message.
    """
    body = body or {}
    _check(body, [(u.filename, u.data) for u in uploads], editing=True)
    content = (body["content"] or "") if "content" in body else message.content
    embeds = (body["embeds"] or []) if "embeds" in body else message.embeds
    components = (body["components"] or []) if "components" in body else message.components
    described = body.get("attachments")
    if described is None:
        kept = message.attachments
    else:
        keep_ids = {str(a.get("id")) for a in described}
        kept = [a for a in message.attachments if str(a.id) in keep_ids]
    attachments = kept + world.make_attachments(uploads, described or [])
    # The result must be a valid message too: an edit cannot empty it or push it past 10 files.
    result = {"content": content, "embeds": embeds, "components": components}
    _check(result, [(a.filename, b"") for a in attachments], editing=False)
    message.content, message.embeds, message.components, message.attachments = content, embeds, components, attachments
    if body.get("flags") is not None:
        # Editing can only toggle SUPPRESS_EMBEDS; the rest of the flags are Discord's.
        message.flags = (message.flags & ~(1 << 2)) | (int(body["flags"]) & (1 << 2))
    # Editing a deferred "thinking…" response turns it into the real one.
    message.flags &= ~MessageFlags.LOADING

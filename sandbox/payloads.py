"""Wire format: the JSON objects Discord sends for users, channels, guilds, messages and interactions.

Field sets follow Discord's v10 documentation closely enough for discord.py to build its models; fields the
emulator has no notion of (avatars, roles beyond @everyone, presences) are sent empty.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.models import Attachment, Channel, ChannelType, Guild, Interaction, Message, User

# Every permission bit Discord defines as of API v10: the emulator does not model permission checks, so everyone
# (the bot included) may do everything, and discord.py's own permission checks pass.
ALL_PERMISSIONS = str((1 << 51) - 1)


def iso(moment: datetime) -> str:
    """Discord's ISO 8601 timestamp format."""
    return moment.isoformat()


def user_json(user: User) -> dict[str, Any]:
    """A user object."""
    return {
        "id": str(user.id),
        "username": user.username,
        "discriminator": "0",
        "global_name": user.username,
        "avatar": None,
        "bot": user.bot,
        "public_flags": 0,
        "flags": 0,
    }


def member_json(user: User, joined_at: datetime, *, with_permissions: bool = False) -> dict[str, Any]:
    """A guild member object; interactions carry the member's permissions as well."""
    member: dict[str, Any] = {
        "user": user_json(user),
        "nick": None,
        "avatar": None,
        "roles": [],
        "joined_at": iso(joined_at),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
    }
    if with_permissions:
        member["permissions"] = ALL_PERMISSIONS
    return member


def channel_json(channel: Channel) -> dict[str, Any]:
    """A channel object; a DM lists its human recipient."""
    if channel.type is ChannelType.DM:
        assert channel.recipient is not None, "a DM channel always has a recipient"
        return {"id": str(channel.id), "type": int(channel.type), "recipients": [user_json(channel.recipient)]}
    return {
        "id": str(channel.id),
        "type": int(channel.type),
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": [],
        "nsfw": False,
        "topic": None,
        "rate_limit_per_user": 0,
        "parent_id": None,
    }


def guild_json(guild: Guild, joined_at: datetime) -> dict[str, Any]:
    """The GUILD_CREATE payload: the guild with its channels, members and the @everyone role."""
    everyone = {
        "id": str(guild.id),
        "name": "@everyone",
        "color": 0,
        "hoist": False,
        "position": 0,
        "permissions": ALL_PERMISSIONS,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "owner_id": str(guild.owner.id),
        "unavailable": False,
        "large": False,
        "member_count": len(guild.members),
        "joined_at": iso(joined_at),
        "roles": [everyone],
        "emojis": [],
        "stickers": [],
        "features": [],
        "channels": [channel_json(c) for c in guild.channels],
        "members": [member_json(u, joined_at) for u in guild.members],
        "threads": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "preferred_locale": "en-US",
        "premium_tier": 0,
        "system_channel_flags": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "verification_level": 0,
        "explicit_content_filter": 0,
        "default_message_notifications": 0,
    }


def attachment_json(attachment: Attachment, channel_id: int, base_url: str) -> dict[str, Any]:
    """An attachment object whose url serves the stored bytes from the emulator itself."""
    url = f"{base_url}/attachments/{channel_id}/{attachment.id}/{attachment.filename}"
    data: dict[str, Any] = {
        "id": str(attachment.id),
        "filename": attachment.filename,
        "size": attachment.size,
        "url": url,
        "proxy_url": url,
    }
    if attachment.content_type:
        data["content_type"] = attachment.content_type
    if attachment.description:
        data["description"] = attachment.description
    return data


def message_json(message: Message, guild: Guild | None, base_url: str, application_id: int) -> dict[str, Any]:
    """A message object as REST returns it and MESSAGE_CREATE carries it."""
    data: dict[str, Any] = {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "author": user_json(message.author),
        "content": message.content,
        "timestamp": iso(message.created_at),
        "edited_timestamp": iso(message.edited_at) if message.edited_at else None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [attachment_json(a, message.channel_id, base_url) for a in message.attachments],
        "embeds": message.embeds,
        "components": message.components,
        "pinned": False,
        "type": message.type,
        "flags": message.flags,
    }
    if guild is not None:
        data["guild_id"] = str(guild.id)
    if message.message_reference is not None:
        data["message_reference"] = message.message_reference
    if message.nonce is not None:
        data["nonce"] = message.nonce
    if message.interaction is not None:
        interaction = message.interaction
        data["application_id"] = str(application_id)
        data["webhook_id"] = str(application_id)
        data["interaction_metadata"] = {
            "id": str(interaction.id),
            "type": int(interaction.type),
            "user": user_json(interaction.user),
            "authorizing_integration_owners": {"0": str(guild.id)} if guild else {"1": str(interaction.user.id)},
        }
    return data


def interaction_json(
    interaction: Interaction, base_url: str, application_id: int, joined_at: datetime
) -> dict[str, Any]:
    """The INTERACTION_CREATE payload: who did what, where, with the token the bot answers with."""
    data: dict[str, Any] = {
        "id": str(interaction.id),
        "application_id": str(application_id),
        "type": int(interaction.type),
        "data": interaction.data,
        "channel_id": str(interaction.channel.id),
        "channel": channel_json(interaction.channel),
        "token": interaction.token,
        "version": 1,
        "app_permissions": ALL_PERMISSIONS,
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if interaction.guild is not None:
        data["guild_id"] = str(interaction.guild.id)
        data["guild_locale"] = "en-US"
        data["guild"] = {"id": str(interaction.guild.id), "locale": "en-US", "features": []}
        data["member"] = member_json(interaction.user, joined_at, with_permissions=True)
        data["authorizing_integration_owners"] = {"0": str(interaction.guild.id)}
        data["context"] = 0
    else:
        data["user"] = user_json(interaction.user)
        data["authorizing_integration_owners"] = {"0": "0"}
        data["context"] = 1
    if interaction.message is not None:  # a click, or a modal opened from one
        data["message"] = message_json(interaction.message, interaction.guild, base_url, application_id)
    return data

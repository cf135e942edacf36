"""What the web page shows: the sandbox's people, places and commands, and one channel as one person sees it.

The page gets whole snapshots rather than gateway events, because ephemeral messages (seen by one person) never go
over the gateway, and a snapshot cannot drift out of step with the emulator's state.
"""

from __future__ import annotations

from typing import Any

from sandbox.client import Sandbox
from sandbox.models import Channel, ChannelType, Command, InteractionType, Message, User

HISTORY = 100  # messages a snapshot carries; the page is a demo, not an archive


def channels_for(sandbox: Sandbox, user: User) -> list[Channel]:
    """The guild channels `user` is in, then their DM with the bot."""
    world = sandbox.world
    guilds = [g for g in world.guilds.values() if user in g.members]
    found = [c for g in guilds for c in sorted(g.channels, key=lambda c: c.position)]
    return [*found, world.dm_channel(user)]


def commands_for(sandbox: Sandbox, channel: Channel | None) -> list[Command]:
    """The slash commands usable in `channel`: its guild's, then the global ones not shadowed by those."""
    world = sandbox.world
    guild = world.guild_of(channel) if channel is not None else None
    local = [c for c in world.commands.values() if guild is not None and c.guild_id == guild.id and c.type == 1]
    names = {c.name for c in local}
    return local + [c for c in world.commands.values() if c.guild_id is None and c.type == 1 and c.name not in names]


def state_json(sandbox: Sandbox, viewer: User | None, channel: Channel | None) -> dict[str, Any]:
    """Everything but the messages: users, the viewer's channels, the commands there, and whether the bot is on."""
    world = sandbox.world
    humans = [u for u in world.users.values() if not u.bot and u is not world.owner]
    return {
        "bot": {"id": str(world.bot.id), "name": world.bot.username, "online": sandbox.emulator.gateway.connected},
        "users": [{"id": str(u.id), "name": u.username} for u in humans],
        "names": {str(u.id): u.username for u in world.users.values()},
        "channels": [_channel_json(sandbox, c) for c in channels_for(sandbox, viewer)] if viewer else [],
        "commands": [_command_json(c) for c in commands_for(sandbox, channel)],
        "violations": [str(v) for v in list(sandbox.emulator.violations)[-3:]],
    }


def messages_json(sandbox: Sandbox, channel: Channel, viewer: User) -> list[dict[str, Any]]:
    """The channel's latest messages as `viewer` sees them (their own ephemeral ones included)."""
    return [message_view(sandbox, m) for m in sandbox.messages(channel, viewer=viewer)[-HISTORY:]]


def message_view(sandbox: Sandbox, message: Message) -> dict[str, Any]:
    """A message as REST returns it, plus what the page needs to draw it like Discord's client does."""
    world = sandbox.world
    data = world.message_json(message)
    for attachment in data["attachments"]:
        # Relative, so images load from the page's own origin whatever host name the person used.
        attachment["url"] = attachment["url"].removeprefix(world.base_url)
    data["ephemeral"] = message.ephemeral
    data["loading"] = message.loading
    interaction = message.interaction
    if interaction is not None:
        command = interaction.data.get("name") if interaction.type is InteractionType.APPLICATION_COMMAND else None
        data["used"] = {"user": interaction.user.username, "command": command}
    reference = message.message_reference
    if reference is not None:
        target = world.find_message(int(reference["channel_id"]), int(reference["message_id"]))
        if target is not None:
            data["reply_to"] = {"author": target.author.username, "content": target.content[:120]}
    return data


def _channel_json(sandbox: Sandbox, channel: Channel) -> dict[str, Any]:
    if channel.type is ChannelType.DM:
        return {"id": str(channel.id), "name": sandbox.world.bot.username, "dm": True, "guild": None}
    guild = sandbox.world.guild_of(channel)
    return {"id": str(channel.id), "name": channel.name, "dm": False, "guild": guild.name if guild else None}


def _command_json(command: Command) -> dict[str, Any]:
    options = [
        {"name": o["name"], "required": bool(o.get("required")), "description": o.get("description", "")}
        for o in command.spec.get("options") or []
    ]
    return {"name": command.name, "description": command.spec.get("description", ""), "options": options}

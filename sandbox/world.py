"""The emulated Discord's state: who exists, where they talk, what was said, and the events that follow.

Every change that Discord would announce over the gateway calls `dispatch`, which the gateway (and anything else
listening, such as a test waiting for a message) subscribes to.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox import payloads
from sandbox.clock import Clock
from sandbox.models import (
    Attachment,
    Channel,
    ChannelType,
    Command,
    Guild,
    Interaction,
    InteractionType,
    Message,
    User,
)

DISCORD_EPOCH_MS = 1420070400000
_POLL_S = 0.05  # how often waiters re-check conditions that no dispatch announces (e.g. a bot's own state)

Listener = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Upload:
    """A file as it arrived in a multipart request: its form field, file name, bytes and type."""

    field: str
    filename: str
    data: bytes
    content_type: str | None = None


class World:
    """All state of one emulated Discord, for one bot application."""

    def __init__(self, clock: Clock, *, bot_name: str = "imagine", bot_token: str | None = None) -> None:
        self.clock = clock
        self.base_url = "http://127.0.0.1"
        self._counter = itertools.count(1)
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, list[Message]] = {}
        self.commands: dict[int, Command] = {}
        self.interactions: dict[int, Interaction] = {}
        # (author id, nonce) → the message it created, for enforce_nonce (see `message_for_nonce`).
        self._nonces: dict[tuple[int, str], Message] = {}
        self.owner = self.add_user("owner")
        self.bot = self.add_user(bot_name, bot=True)
        self.bot_token = bot_token or f"sandbox.{self.bot.id}.{secrets.token_urlsafe(16)}"
        self._listeners: list[Listener] = []
        self._waiters: list[asyncio.Future[None]] = []
        # Bumped on every change; watchers that must see ephemeral changes too (which dispatch no event) compare it.
        self.revision = 0
        self._joined_at = clock.utcnow()

    @property
    def application_id(self) -> int:
        """The bot's application id; as for applications made since 2019 it equals the bot user's id."""
        return self.bot.id

    @property
    def joined_at(self) -> datetime:
        """When every member "joined"; one instant keeps payloads stable."""
        return self._joined_at

    # ids and events

    def snowflake(self) -> int:
        """A fresh, increasing snowflake whose time part follows the emulator's clock, as message timestamps do."""
        ms = int(self.clock.utcnow().timestamp() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(event_name, data)` for every gateway event from now on."""
        self._listeners.append(listener)

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Announce an event to listeners and wake anything waiting for a change."""
        for listener in list(self._listeners):
            listener(event, data)
        self.notify()

    def notify(self) -> None:
        """Wake everything waiting in `wait_until` to re-check its condition."""
        self.revision += 1
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, predicate: Callable[[], Any], timeout: float) -> Any:
        """Wait until `predicate()` is truthy and return it; raises TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while not (result := predicate()):
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                # Re-check now and then too: a condition may depend on more than this world (e.g. the bot's state).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter, _POLL_S)
            return result

    # people and places

    def add_user(self, username: str, *, bot: bool = False) -> User:
        """Create a user."""
        user = User(id=self.snowflake(), username=username, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, channels: tuple[str, ...] = ("general",), owner: User | None = None) -> Guild:
        """Create a guild with text channels; the bot and the owner are members."""
        owner = owner or self.owner
        guild = Guild(id=self.snowflake(), name=name, owner=owner, members=[self.bot])
        if owner is not self.bot:
            guild.members.append(owner)
        self.guilds[guild.id] = guild
        for position, channel_name in enumerate(channels):
            self.add_channel(guild, channel_name, position=position)
        return guild

    def add_channel(self, guild: Guild, name: str, *, position: int = 0) -> Channel:
        """Create a text channel in `guild`."""
        channel = Channel(self.snowflake(), ChannelType.GUILD_TEXT, name=name, guild_id=guild.id, position=position)
        guild.channels.append(channel)
        self.channels[channel.id] = channel
        self.messages[channel.id] = []
        return channel

    def announce_guild(self, guild: Guild) -> None:
        """Tell a connected bot about a guild it has just joined (GUILD_CREATE)."""
        self.dispatch("GUILD_CREATE", payloads.guild_json(guild, self.joined_at))

    def add_member(self, guild: Guild, user: User) -> None:
        """Make `user` a member of `guild`."""
        if user not in guild.members:
            guild.members.append(user)

    def dm_channel(self, user: User) -> Channel:
        """The DM channel between `user` and the bot, created on first use."""
        for channel in self.channels.values():
            if channel.type is ChannelType.DM and channel.recipient is user:
                return channel
        channel = Channel(self.snowflake(), ChannelType.DM, recipient=user)
        self.channels[channel.id] = channel
        self.messages[channel.id] = []
        return channel

    def guild_of(self, channel: Channel) -> Guild | None:
        """The guild a channel is in, or None for a DM."""
        return self.guilds.get(channel.guild_id) if channel.guild_id is not None else None

    # messages

    def post_message(self, channel: Channel, author: User, **fields: Any) -> Message:
        """Store a new message and announce MESSAGE_CREATE (ephemeral ones stay between bot and user)."""
        message = Message(id=self.snowflake(), channel_id=channel.id, author=author, created_at=self.clock.utcnow())
        for name, value in fields.items():
            setattr(message, name, value)
        self.messages[channel.id].append(message)
        if message.nonce is not None:
            self._nonces[(author.id, message.nonce)] = message
        if not message.ephemeral:
            self.dispatch("MESSAGE_CREATE", self.message_event(message))
        else:
            self.notify()
        return message

    def message_updated(self, message: Message) -> None:
        """Mark a message edited and announce MESSAGE_UPDATE."""
        message.edited_at = self.clock.utcnow()
        if not message.ephemeral:
            self.dispatch("MESSAGE_UPDATE", self.message_event(message))
        else:
            self.notify()

    def delete_message(self, message: Message) -> None:
        """Remove a message and announce MESSAGE_DELETE."""
        message.deleted = True
        self.messages[message.channel_id].remove(message)
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        guild = self.guild_of(self.channels[message.channel_id])
        if guild is not None:
            data["guild_id"] = str(guild.id)
        self.dispatch("MESSAGE_DELETE", data)

    def message_for_nonce(self, author: User, nonce: str, within_s: float) -> Message | None:
        """The live message ``author`` created with this nonce less than ``within_s`` ago (emulator clock), if any."""
        message = self._nonces.get((author.id, nonce))
        if message is None or message.deleted:
            return None
        age = (self.clock.utcnow() - message.created_at).total_seconds()
        return message if age <= within_s else None

    def find_message(self, channel_id: int, message_id: int) -> Message | None:
        """A live message by id, or None."""
        for message in self.messages.get(channel_id, []):
            if message.id == message_id:
                return message
        return None

    def make_attachments(self, uploads: list[Upload], described: list[dict[str, Any]]) -> list[Attachment]:
        """Turn uploaded files into attachments, taking filename/description from the `attachments` entries."""
        by_index = {str(a.get("id")): a for a in described}
        attachments = []
        for position, upload in enumerate(uploads):
            index = upload.field.removeprefix("files[").removesuffix("]")
            meta = by_index.get(index, by_index.get(str(position), {}))
            attachments.append(
                Attachment(
                    id=self.snowflake(),
                    filename=meta.get("filename") or upload.filename,
                    data=upload.data,
                    content_type=upload.content_type,
                    description=meta.get("description"),
                )
            )
        return attachments

    def message_json(self, message: Message) -> dict[str, Any]:
        """A message as REST returns it."""
        guild = self.guild_of(self.channels[message.channel_id])
        return payloads.message_json(message, guild, self.base_url, self.application_id)

    def message_event(self, message: Message) -> dict[str, Any]:
        """A message as MESSAGE_CREATE/UPDATE carries it: guild messages include the author's member."""
        data = self.message_json(message)
        if "guild_id" in data:
            member = payloads.member_json(message.author, self.joined_at)
            member.pop("user")
            data["member"] = member
        return data

    # interactions

    def start_interaction(
        self,
        kind: InteractionType,
        user: User,
        channel: Channel,
        data: dict[str, Any],
        message: Message | None = None,
    ) -> Interaction:
        """Create an interaction as if `user` acted, and announce INTERACTION_CREATE."""
        interaction = Interaction(
            id=self.snowflake(),
            token=f"aW50ZXJhY3Rpb24.{secrets.token_urlsafe(48)}",
            type=kind,
            user=user,
            channel=channel,
            guild=self.guild_of(channel),
            data=data,
            created_at=self.clock.now(),
            message=message,
        )
        self.interactions[interaction.id] = interaction
        event = payloads.interaction_json(interaction, self.base_url, self.application_id, self.joined_at)
        self.dispatch("INTERACTION_CREATE", event)
        return interaction

    def interaction_by_token(self, token: str) -> Interaction | None:
        """The interaction whose webhook token this is, or None."""
        for interaction in self.interactions.values():
            if interaction.token == token:
                return interaction
        return None

"""The emulated Discord's objects: users, guilds, channels, messages, commands and interactions.

These hold state only; `sandbox.payloads` turns them into the JSON Discord sends on the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any


class ChannelType(IntEnum):
    """The two channel kinds the emulator models."""

    GUILD_TEXT = 0
    DM = 1


class InteractionType(IntEnum):
    """Interaction kinds a user can cause."""

    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    MODAL_SUBMIT = 5


class CallbackType(IntEnum):
    """Interaction callback types the emulator understands."""

    CHANNEL_MESSAGE_WITH_SOURCE = 4
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    MODAL = 9


class MessageFlags:
    """Message flag bits the emulator acts on."""

    EPHEMERAL = 1 << 6
    LOADING = 1 << 7


@dataclass(eq=False)
class User:
    """A Discord account; the bot is one too."""

    id: int
    username: str
    bot: bool = False

    def __repr__(self) -> str:
        return f"<User {self.username} {self.id}>"


@dataclass(eq=False)
class Channel:
    """A guild text channel, or a DM between one user and the bot."""

    id: int
    type: ChannelType
    name: str | None = None
    guild_id: int | None = None
    recipient: User | None = None
    position: int = 0

    def __repr__(self) -> str:
        return f"<Channel #{self.name or 'dm'} {self.id}>"


@dataclass(eq=False)
class Guild:
    """A server with its channels and members (the bot is always a member)."""

    id: int
    name: str
    owner: User
    channels: list[Channel] = field(default_factory=list)
    members: list[User] = field(default_factory=list)

    def channel(self, name: str) -> Channel:
        """The channel called `name`; raises KeyError naming the guild when there is none."""
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(f"guild {self.name!r} has no channel {name!r}")

    def __repr__(self) -> str:
        return f"<Guild {self.name} {self.id}>"


@dataclass(eq=False)
class Attachment:
    """A file uploaded with a message; its bytes are served back at `url`."""

    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


@dataclass(eq=False)
class Message:
    """A message in a channel, as Discord would store it."""

    id: int
    channel_id: int
    author: User
    created_at: datetime
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    message_reference: dict[str, Any] | None = None
    nonce: str | None = None  # the sender's, as sent (Discord echoes it back)
    interaction: Interaction | None = None
    edited_at: datetime | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        """Whether only the interaction's user can see it."""
        return bool(self.flags & MessageFlags.EPHEMERAL)

    @property
    def loading(self) -> bool:
        """Whether this is a deferred response still showing "thinking…"."""
        return bool(self.flags & MessageFlags.LOADING)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every button on the message, row by row."""
        return [c for c in iter_components(self.components) if c.get("type") == 2]

    def button(self, label_or_custom_id: str) -> dict[str, Any]:
        """The button whose label or custom_id matches; raises KeyError listing what there is."""
        for button in self.buttons:
            if label_or_custom_id in (button.get("label"), button.get("custom_id")):
                return button
        have = [(b.get("label"), b.get("custom_id")) for b in self.buttons]
        raise KeyError(f"message {self.id} has no button {label_or_custom_id!r}; buttons: {have}")

    def __repr__(self) -> str:
        return f"<Message {self.id} {self.content[:40]!r} files={len(self.attachments)}>"


def iter_components(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Walk a component tree depth-first, yielding every component including containers."""
    for component in components:
        yield component
        yield from iter_components(component.get("components") or [])


@dataclass(eq=False)
class Command:
    """An application command as registered by the bot."""

    id: int
    application_id: int
    guild_id: int | None
    name: str
    type: int
    spec: dict[str, Any]


@dataclass(eq=False)
class Interaction:
    """A slash command or component click, and what the bot has done with it so far."""

    id: int
    token: str
    type: InteractionType
    user: User
    channel: Channel
    guild: Guild | None
    data: dict[str, Any]
    created_at: float
    message: Message | None = None
    callback_type: CallbackType | None = None
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    refused_late: bool = False

    @property
    def responded(self) -> bool:
        """Whether the bot has sent its initial callback."""
        return self.callback_type is not None

    def __repr__(self) -> str:
        return f"<Interaction {self.type.name} {self.id} by {self.user.username}>"

"""Stand-ins for Discord in handler tests: an interaction and the bot's outbox, recording what a user would see.

They have only what the handlers touch. Everything the bot shows is kept as a ``Shown`` (how it went out: the
response, a follow-up, an edit of the pressed message, an outbox post; its content and keyword arguments).
``refuse`` on a response, follow-up or outbox makes that many of its next sends fail as Discord's 400 would.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import discord

from bot.jobs import CancelReply, JobRecord

_ids = itertools.count(1000)


def refused() -> discord.HTTPException:
    """Discord refusing a message body."""
    return discord.HTTPException(SimpleNamespace(status=400, reason="Bad Request"), {"code": 50035, "message": "no"})


@dataclass
class Shown:
    """One message (or edit, or deferral) the bot sent."""

    how: str  # "response", "defer", "edit", "followup", "edit_original", "outbox"
    content: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    id: int = 0

    @property
    def embed(self) -> discord.Embed | None:
        """The message's embed, if any."""
        return self.kwargs.get("embed")

    @property
    def title(self) -> str | None:
        """The embed's title, if any."""
        return self.embed.title if self.embed is not None else None

    @property
    def ephemeral(self) -> bool:
        """Whether only the user sees it."""
        return bool(self.kwargs.get("ephemeral"))

    @property
    def button_ids(self) -> list[str]:
        """The custom_ids of the message's buttons."""
        view = self.kwargs.get("view")
        return [item.custom_id for item in view.children] if view is not None else []


class _Response:
    def __init__(self, shown: list[Shown]) -> None:
        self._shown = shown
        self._done = False
        self.refuse = 0

    def is_done(self) -> bool:
        return self._done

    def _answer(self, how: str, content: str | None, kwargs: dict[str, Any]) -> Shown:
        assert not self._done, "an interaction is answered once"
        if self.refuse:
            self.refuse -= 1
            raise refused()
        self._done = True
        self._shown.append(Shown(how, content, kwargs, next(_ids)))
        return self._shown[-1]

    async def send_message(self, content: str | None = None, **kwargs: Any) -> Any:
        return SimpleNamespace(message_id=self._answer("response", content, kwargs).id)

    async def defer(self, **kwargs: Any) -> None:
        self._answer("defer", None, kwargs)

    async def edit_message(self, **kwargs: Any) -> None:
        self._answer("edit", kwargs.pop("content", None), kwargs)


class _Followup:
    def __init__(self, shown: list[Shown]) -> None:
        self._shown = shown
        self.refuse = 0

    async def send(self, content: str | None = None, **kwargs: Any) -> Any:
        if self.refuse:
            self.refuse -= 1
            raise refused()
        self._shown.append(Shown("followup", content, kwargs, next(_ids)))
        return SimpleNamespace(id=self._shown[-1].id)


class Message:
    """The message whose button was pressed: its id, its buttons, and whether it was deleted."""

    def __init__(self, view: discord.ui.View | None = None, extra_rows: list[dict[str, Any]] | None = None) -> None:
        self.id = next(_ids)
        rows = (view.to_components() if view is not None else []) + (extra_rows or [])
        self.components = [discord.ActionRow(row) for row in rows]
        self.deleted = False

    async def delete(self) -> None:
        self.deleted = True


class Interaction:
    """A slash command or a button press by ``user_id`` in channel 10 of guild 20."""

    def __init__(
        self,
        user_id: int = 1,
        *,
        message: Message | None = None,
        kind: discord.InteractionType = discord.InteractionType.application_command,
    ) -> None:
        self.id = next(_ids)
        self.type = kind
        self.user = SimpleNamespace(id=user_id)
        self.channel_id = 10
        self.guild_id = 20
        self.application_id = 555
        self.token = "interaction-token"
        self.message = message
        self.shown: list[Shown] = []
        self.response = _Response(self.shown)
        self.followup = _Followup(self.shown)

    async def edit_original_response(self, **kwargs: Any) -> None:
        self.shown.append(Shown("edit_original", None, kwargs))

    async def delete_original_response(self) -> None:
        self.shown.append(Shown("delete_original"))

    def is_expired(self) -> bool:
        return False


class Outbox:
    """The bot's channel API: posts are recorded (shared with the interaction's ``shown``), deletions and edited
    replies kept."""

    def __init__(self) -> None:
        self.posts: list[Shown] = []
        self.deleted: list[int] = []
        self.replies: list[tuple[CancelReply, str]] = []
        self.refuse = 0

    async def send(self, record: JobRecord, *, interaction: Any = None, **kwargs: Any) -> Any:
        if self.refuse:
            self.refuse -= 1
            raise refused()
        self.posts.append(Shown("outbox", kwargs.pop("content", None), kwargs, next(_ids)))
        if interaction is not None:
            interaction.shown.append(self.posts[-1])
        return SimpleNamespace(id=self.posts[-1].id)

    async def delete(self, record: JobRecord, message_id: int) -> None:
        self.deleted.append(message_id)

    async def edit(self, record: JobRecord, message_id: int, **kwargs: Any) -> None:
        pass

    async def edit_reply(self, reply: CancelReply, content: str) -> None:
        self.replies.append((reply, content))

    async def user_name(self, user_id: int) -> str:
        return f"user{user_id}"

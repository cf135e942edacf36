"""``JobButton``: the one persistent button class. Its custom_id (``bot.custom_ids``) carries the job and image.

Registered with ``add_dynamic_items`` in ``setup_hook``, so buttons on messages from earlier runs keep working.
The template matches every custom_id under our prefix, so a malformed or outdated one still gets an answer.
Anyone may press a button (the job it makes is theirs and counts against their limits), except ❌, which only
the job's owner may use: that rule is the ``interaction_check``, answered by the client's ``button_handler``
(``bot.actions.ButtonActions``). discord.py builds the button from a click, so the client is how it finds them.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

import discord

from bot import custom_ids, messages, metrics
from bot.custom_ids import ButtonId, CustomIdError
from bot.replies import answer_error, error_embed_for

log = logging.getLogger(__name__)


class ButtonHandler(Protocol):
    """What decides on and acts on job button presses."""

    async def check(self, interaction: discord.Interaction, button: ButtonId) -> bool:
        """Whether the user may press this button; when not, the user has been answered why."""
        ...

    async def press(self, interaction: discord.Interaction, button: ButtonId) -> None:
        """Act on a press that passed ``check``."""
        ...


class ButtonClient(discord.Client):
    """A client whose ``JobButton``s work: it hands their presses to its ``button_handler``."""

    @property
    def button_handler(self) -> ButtonHandler:
        """The handler of job button presses (ready before the gateway connects)."""
        raise NotImplementedError


class JobButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=custom_ids.TEMPLATE):
    """A button acting on one job (and one of its images)."""

    def __init__(
        self,
        custom_id: str,
        *,
        label: str | None = None,
        emoji: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        super().__init__(discord.ui.Button(custom_id=custom_id, label=label, emoji=emoji, style=style, row=row))
        try:
            self.button_id: ButtonId | None = custom_ids.decode(custom_id)
        except CustomIdError:
            self.button_id = None

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> JobButton:
        """Rebuild the button from a click; never raises, so a broken custom_id still reaches the check."""
        if not isinstance(item, discord.ui.Button):  # the template only matches buttons' custom_ids
            return cls("")
        return cls(item.custom_id or "", label=item.label, style=item.style)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Refuse malformed buttons, and ❌ for anyone but the job's owner, with an ephemeral answer."""
        if self.button_id is None:
            log.info("unknown button %r pressed by %s", self.item.custom_id, interaction.user.id)
            await interaction.response.send_message(embed=messages.stale_button(), ephemeral=True)
            return False
        return await _handler(interaction).check(interaction, self.button_id)

    async def callback(self, interaction: discord.Interaction) -> Any:
        """Hand the press to the client's button handler; an unexpected error is answered, never raised."""
        assert self.button_id is not None  # interaction_check refused the others
        try:
            await _handler(interaction).press(interaction, self.button_id)
        except Exception as exc:
            log.exception("job %s: button %s failed", self.button_id.job_id, self.button_id.action)
            metrics.INTERACTIONS.labels("button", self.button_id.action.name.lower(), "error").inc()
            await answer_error(interaction, error_embed_for(exc, self.button_id.job_id))
        else:
            metrics.INTERACTIONS.labels("button", self.button_id.action.name.lower(), "ok").inc()


def _handler(interaction: discord.Interaction) -> ButtonHandler:
    # discord.py types the overridden methods for any client, so the client is narrowed here, not in signatures.
    client = interaction.client
    if not isinstance(client, ButtonClient):
        raise TypeError(f"job buttons need a ButtonClient, not {type(client).__name__}")
    return client.button_handler

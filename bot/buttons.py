"""``JobButton``: the one persistent button class. Its custom_id (``bot.custom_ids``) carries the job and image.

Registered with ``add_dynamic_items`` in ``setup_hook``, so buttons on messages from earlier runs keep working.
The template matches every custom_id under our prefix, so a malformed or outdated one still gets an answer.
Anyone may press a button (the job it makes is theirs and counts against their limits), except ❌, which only
the job's owner may use: that rule is the ``interaction_check``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot import custom_ids, messages, metrics
from bot.custom_ids import Action, ButtonId, CustomIdError

if TYPE_CHECKING:
    from bot.client import ImagineBot

log = logging.getLogger(__name__)


class JobButton(discord.ui.DynamicItem[discord.ui.Button], template=custom_ids.TEMPLATE):
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
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> JobButton:
        """Rebuild the button from a click; never raises, so a broken custom_id still reaches the check."""
        return cls(item.custom_id or "", label=item.label, style=item.style)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Refuse malformed buttons, and ❌ for anyone but the job's owner, with an ephemeral answer."""
        bot: ImagineBot = interaction.client  # type: ignore[assignment]
        if self.button_id is None:
            log.info("unknown button %r pressed by %s", self.item.custom_id, interaction.user.id)
            await interaction.response.send_message(embed=messages.stale_button(), ephemeral=True)
            return False
        if self.button_id.action is not Action.CANCEL:
            return True
        spec = await asyncio.to_thread(bot.queue.load_spec, self.button_id.job_id)
        if spec is None:
            await interaction.response.send_message(embed=messages.job_expired(), ephemeral=True)
            return False
        if spec.requester.user_id != interaction.user.id:
            embed = messages.not_owner(spec.requester.user_id)
            await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=messages.mentions())
            return False
        return True

    async def callback(self, interaction: discord.Interaction) -> Any:
        """Hand the press to the bot's button actions; an unexpected error is answered, never raised."""
        bot: ImagineBot = interaction.client  # type: ignore[assignment]
        assert self.button_id is not None  # interaction_check refused the others
        try:
            await bot.actions.press(interaction, self.button_id)
        except Exception:
            log.exception("job %s: button %s failed", self.button_id.job_id, self.button_id.action)
            metrics.INTERACTIONS.labels("button", self.button_id.action.name.lower(), "error").inc()
            await bot.actions.answer_error(interaction, messages.internal_error(self.button_id.job_id))
        else:
            metrics.INTERACTIONS.labels("button", self.button_id.action.name.lower(), "ok").inc()

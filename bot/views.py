"""The button layouts of the bot's messages, built from persistent ``JobButton``s.

Grid: ``U1 U2 U3 U4 🔄`` / ``V1 V2 V3 V4 ❌``. Upscale: ``Vary (Strong) Vary (Subtle) Upscale (Subtle)
Upscale (Creative) ❌``. A running job: ``❌`` (cancel). A pressed button turns blue (primary), as in Midjourney.
"""

from __future__ import annotations

import discord

from bot import custom_ids
from bot.buttons import JobButton
from bot.custom_ids import Action

GREY = discord.ButtonStyle.secondary
BLUE = discord.ButtonStyle.primary
CANCEL_EMOJI = "❌"
REROLL_EMOJI = "🔄"


def _button(
    action: Action, job_id: str, index: int = 0, *, label: str | None = None, emoji: str | None = None, row: int = 0
) -> JobButton:
    return JobButton(custom_ids.encode(action, job_id, index), label=label, emoji=emoji, style=GREY, row=row)


def grid_view(job_id: str) -> discord.ui.View:
    """Buttons under a grid of four."""
    view = discord.ui.View(timeout=None)
    for i in range(1, 5):
        view.add_item(_button(Action.UPSCALE, job_id, i, label=f"U{i}", row=0))
    view.add_item(_button(Action.REROLL, job_id, emoji=REROLL_EMOJI, row=0))
    for i in range(1, 5):
        view.add_item(_button(Action.VARY, job_id, i, label=f"V{i}", row=1))
    view.add_item(_button(Action.CANCEL, job_id, emoji=CANCEL_EMOJI, row=1))
    return view


def upscale_view(job_id: str) -> discord.ui.View:
    """Buttons under one upscaled image."""
    view = discord.ui.View(timeout=None)
    view.add_item(_button(Action.VARY_STRONG, job_id, 1, label="Vary (Strong)"))
    view.add_item(_button(Action.VARY_SUBTLE, job_id, 1, label="Vary (Subtle)"))
    view.add_item(_button(Action.UPSCALE_SUBTLE, job_id, 1, label="Upscale (Subtle)"))
    view.add_item(_button(Action.UPSCALE_CREATIVE, job_id, 1, label="Upscale (Creative)"))
    view.add_item(_button(Action.CANCEL, job_id, emoji=CANCEL_EMOJI))
    return view


def progress_view(job_id: str) -> discord.ui.View:
    """The cancel button under a job that has not finished."""
    view = discord.ui.View(timeout=None)
    view.add_item(_button(Action.CANCEL, job_id, emoji=CANCEL_EMOJI))
    return view


def pressed_view(message: discord.Message, pressed: str) -> discord.ui.View:
    """The message's buttons again, with the pressed one (and any pressed before) blue.

    Buttons that are not ours (another app's, a link) are kept as they were.
    """
    view = discord.ui.View(timeout=None)
    for row_index, row in enumerate(message.components):
        for component in getattr(row, "children", []):
            if not isinstance(component, discord.Button):
                continue
            emoji = str(component.emoji) if component.emoji else None
            custom_id = component.custom_id
            if custom_id is None or not custom_ids.is_ours(custom_id):
                view.add_item(_kept(component, emoji, row_index))
                continue
            style = BLUE if custom_id == pressed or component.style is BLUE else GREY
            view.add_item(JobButton(custom_id, label=component.label, emoji=emoji, style=style, row=row_index))
    return view


def _kept(component: discord.Button, emoji: str | None, row: int) -> discord.ui.Button[discord.ui.View]:
    """A button that is not ours, unchanged."""
    return discord.ui.Button(
        style=component.style,
        label=component.label,
        custom_id=component.custom_id,
        url=component.url,
        emoji=emoji,
        disabled=component.disabled,
        row=row,
    )

"""The /settings panel: the user's defaults, changed with selects and buttons, saved at once.

The panel is an ephemeral message seen only by its user, so its view is an ordinary (non-persistent) one; after
its timeout the user simply runs /settings again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot import messages
from bot.user_settings import ASPECT_CHOICES, STYLIZE_CHOICES, UserSettings, UserSettingsStore
from worker.spec import Mode, Strength

log = logging.getLogger(__name__)

STYLES = STYLIZE_CHOICES

BLUE = discord.ButtonStyle.primary
GREY = discord.ButtonStyle.secondary


def settings_embed(prefs: UserSettings) -> discord.Embed:
    """What the user's settings are now."""
    embed = discord.Embed(title="Your settings", colour=messages.BLURPLE)
    embed.add_field(name="Stylize", value=str(prefs.stylize) if prefs.stylize is not None else "default (100)")
    embed.add_field(name="Aspect ratio", value=prefs.aspect or "default (1:1)")
    embed.add_field(name="Mode", value=str(prefs.mode).capitalize())
    embed.add_field(name="Variations", value=str(prefs.variation).capitalize())
    suffix = _code(prefs.suffix) if prefs.suffix else "none (set with /settings suffix:…)"
    embed.add_field(name="Suffix", value=suffix, inline=False)
    embed.set_footer(text="Parameters in a prompt always win over these defaults.")
    return embed


def _code(text: str) -> str:
    """``text`` as inline code: shown as typed (markdown does not apply inside, so nothing is escaped), between
    fences longer than any run of backticks in it, padded when it starts or ends with one."""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


class _Select(discord.ui.Select["SettingsView"]):
    """A panel select that hands the picked value to ``on_pick``."""

    def __init__(self, on_pick: Callable[[discord.Interaction, str], Awaitable[None]], **kwargs: Any):
        super().__init__(**kwargs)
        self._on_pick = on_pick

    async def callback(self, interaction: discord.Interaction) -> None:
        """Pass on the one picked value."""
        await self._on_pick(interaction, self.values[0])


class _Button(discord.ui.Button["SettingsView"]):
    """A panel button that runs ``on_press``."""

    def __init__(self, on_press: Callable[[discord.Interaction], Awaitable[None]], **kwargs: Any):
        super().__init__(**kwargs)
        self._on_press = on_press

    async def callback(self, interaction: discord.Interaction) -> None:
        """Run the button's action."""
        await self._on_press(interaction)


class SettingsView(discord.ui.View):
    """Selects for stylize and aspect ratio, buttons for mode, variation strength and reset."""

    def __init__(self, store: UserSettingsStore, user_id: int, prefs: UserSettings, timeout: float = 600):
        super().__init__(timeout=timeout)
        self.store = store
        self.user_id = user_id
        self.prefs = prefs
        self._render()

    def _render(self) -> None:
        self.clear_items()
        p = self.prefs
        stylize = _Select(
            self._on_stylize,
            custom_id="settings:stylize",
            placeholder="Stylize",
            options=[
                discord.SelectOption(label=f"Stylize {v}", value=str(v), default=p.stylize == v)
                for v in STYLIZE_CHOICES
            ],
            row=0,
        )
        aspect = _Select(
            self._on_aspect,
            custom_id="settings:aspect",
            placeholder="Aspect ratio",
            options=[discord.SelectOption(label=f"--ar {v}", value=v, default=p.aspect == v) for v in ASPECT_CHOICES],
            row=1,
        )
        self.add_item(stylize)
        self.add_item(aspect)
        for mode in Mode:
            self._button(f"{mode.capitalize()} mode", f"settings:mode:{mode}", p.mode is mode, 2, mode=mode)
        for strength in (Strength.STRONG, Strength.SUBTLE):
            label = f"{strength.capitalize()} variations"
            self._button(label, f"settings:variation:{strength}", p.variation is strength, 3, variation=strength)
        reset = _Button(
            self._on_reset,
            label="Reset settings",
            custom_id="settings:reset",
            style=discord.ButtonStyle.danger,
            row=4,
        )
        self.add_item(reset)

    def _button(self, label: str, custom_id: str, chosen: bool, row: int, **change: object) -> None:
        async def pressed(interaction: discord.Interaction) -> None:
            await self._update(interaction, self.prefs.model_copy(update=change))

        self.add_item(_Button(pressed, label=label, custom_id=custom_id, style=BLUE if chosen else GREY, row=row))

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Only the panel's user may change it (it is ephemeral, but be sure)."""
        return interaction.user.id == self.user_id

    async def _on_stylize(self, interaction: discord.Interaction, value: str) -> None:
        await self._update(interaction, self.prefs.model_copy(update={"stylize": int(value)}))

    async def _on_aspect(self, interaction: discord.Interaction, value: str) -> None:
        await self._update(interaction, self.prefs.model_copy(update={"aspect": value}))

    async def _on_reset(self, interaction: discord.Interaction) -> None:
        await self.store.reset(self.user_id)
        await self._update(interaction, UserSettings(), save=False)

    async def _update(self, interaction: discord.Interaction, prefs: UserSettings, save: bool = True) -> None:
        self.prefs = prefs
        if save:
            await self.store.save(self.user_id, prefs)
        log.info("user %s: settings changed", self.user_id)
        self._render()
        await interaction.response.edit_message(embed=settings_embed(prefs), view=self)

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
from worker.cards import ModelCard
from worker.spec import Mode, Strength

log = logging.getLogger(__name__)

STYLES = STYLIZE_CHOICES

BLUE = discord.ButtonStyle.primary
GREY = discord.ButtonStyle.secondary

# The model select's "no choice" option: the server default. (Model names are IMAGINE_MODEL values, paths, hub ids
# and aliases; none starts with a colon.)
SERVER_DEFAULT = ":default"
# Discord's limits: 25 options in a select, 100 characters in an option's label and value.
MAX_OPTIONS = 25
MAX_OPTION = 100


def settings_embed(prefs: UserSettings) -> discord.Embed:
    """What the user's settings are now."""
    embed = discord.Embed(title="Your settings", colour=messages.BLURPLE)
    embed.add_field(name="Stylize", value=str(prefs.stylize) if prefs.stylize is not None else "default (100)")
    embed.add_field(name="Aspect ratio", value=prefs.aspect or "default (1:1)")
    embed.add_field(name="Mode", value=str(prefs.mode).capitalize())
    embed.add_field(name="Variations", value=str(prefs.variation).capitalize())
    embed.add_field(name="Model", value=messages.model_label(prefs.model) if prefs.model else "server default")
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
    """Selects for stylize and aspect ratio, buttons for mode and variation strength, reset, and a model select of
    the models online (``models``: their cards, as the panel was opened)."""

    def __init__(
        self,
        store: UserSettingsStore,
        user_id: int,
        prefs: UserSettings,
        models: list[ModelCard] | None = None,
        timeout: float = 600,
    ):
        super().__init__(timeout=timeout)
        self.store = store
        self.user_id = user_id
        self.prefs = prefs
        self.models = models or []
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
            row=3,
        )
        self.add_item(reset)
        model = _Select(self._on_model, custom_id="settings:model", placeholder="Model", options=self._models(), row=4)
        self.add_item(model)

    def _models(self) -> list[discord.SelectOption]:
        """The server default, then each model online by the shortest of its names that fits an option's value; the
        user's own choice stays listed (marked offline) while no worker runs it."""
        chosen = self.prefs.model
        options = [discord.SelectOption(label="Server default", value=SERVER_DEFAULT, default=chosen is None)]
        listed = False
        for card in self.models[: MAX_OPTIONS - 2]:
            mine = chosen is not None and card.answers_to(chosen) and not listed
            value = chosen if mine and chosen else min((card.name, *card.aliases), key=len)
            if len(value) > MAX_OPTION or any(option.value.casefold() == value.casefold() for option in options):
                continue  # too long for Discord, or a name two models claim (the first keeps it, as --v does)
            listed = listed or mine
            label = card.name if not card.aliases else f"{card.name} ({', '.join(card.aliases)})"
            options.append(discord.SelectOption(label=_cut(label), value=value, default=mine))
        if chosen is not None and not listed:
            options.append(discord.SelectOption(label=_cut(f"{chosen} (offline)"), value=chosen, default=True))
        return options

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

    async def _on_model(self, interaction: discord.Interaction, value: str) -> None:
        await self._update(
            interaction, self.prefs.model_copy(update={"model": None if value == SERVER_DEFAULT else value})
        )

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


def _cut(text: str) -> str:
    return text if len(text) <= MAX_OPTION else text[: MAX_OPTION - 1] + "…"

"""A picture bot, the sandbox web page around it, and a headless Chromium to look at it, for the page's tests.

PictureBot behaves like the project's bot on the surface (progress edits with previews, a grid with U/V buttons, an
upscale per U button, an ephemeral /settings panel with select menus, a modal) without Redis or a model.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from PIL import Image, ImageDraw

from sandbox.botrunner import running_bot
from sandbox.client import Sandbox
from sandbox.models import Channel, User
from sandbox.web import WebUI

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TILE_COLOURS = ["#e76f51", "#2a9d8f", "#e9c46a", "#264653"]


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can; under CI a missing browser is an error."""
    reason = None
    if not shutil.which(CHROMIUM):
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is not installed (pip install playwright; never `playwright install`)"
    if reason and os.environ.get("CI"):
        # .ci/run installs both: a skip there would hide a broken browser test.
        raise RuntimeError(f"CI must run the browser tests, but {reason}")
    return reason


def picture(colour: str, size: int = 128, label: str = "") -> bytes:
    """A PNG with a sun over hills in `colour`, so screenshots show something picture-like."""
    image = Image.new("RGB", (size, size), "#a8dadc")
    draw = ImageDraw.Draw(image)
    draw.ellipse((size * 0.6, size * 0.12, size * 0.85, size * 0.37), fill="#ffd166")
    draw.polygon([(0, size), (size * 0.35, size * 0.45), (size * 0.7, size), (0, size)], fill=colour)
    draw.polygon([(size * 0.3, size), (size * 0.7, size * 0.55), (size, size * 0.8), (size, size)], fill="#1d3557")
    if label:
        draw.text((6, 4), label, fill="#1d3557")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def grid_picture(size: int = 256) -> bytes:
    """Four pictures in a 2x2 grid, as /imagine posts."""
    grid = Image.new("RGB", (size, size))
    half = size // 2
    for index, colour in enumerate(TILE_COLOURS):
        tile = Image.open(io.BytesIO(picture(colour, half)))
        grid.paste(tile, ((index % 2) * half, (index // 2) * half))
    out = io.BytesIO()
    grid.save(out, "PNG")
    return out.getvalue()


class GridButton(discord.ui.DynamicItem[discord.ui.Button], template=r"pic:(?P<action>[uv]):(?P<index>[1-4])"):
    """U1..U4 / V1..V4 under a grid; U posts one upscaled picture in reply, V a new grid."""

    def __init__(self, action: str, index: int) -> None:
        label, row = f"{action.upper()}{index}", "uv".index(action)
        super().__init__(discord.ui.Button(label=label, custom_id=f"pic:{action}:{index}", row=row))
        self.action, self.index = action, index

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> GridButton:
        return cls(match["action"], int(match["index"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()  # DEFERRED_UPDATE_MESSAGE: the grid stays as it is
        file = discord.File(io.BytesIO(picture(TILE_COLOURS[self.index - 1], 256)), filename="upscaled.png")
        await interaction.channel.send(  # type: ignore[union-attr]  # a slash command's channel here is always a text channel
            f"**upscaled** - Image #{self.index} <@{interaction.user.id}>",
            file=file,
            reference=interaction.message,
            mention_author=False,
        )


class NoteModal(discord.ui.Modal, title="Leave a note"):
    """One text input; submitting posts it."""

    note = discord.ui.TextInput(label="Note", custom_id="note", max_length=100)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"note: **{self.note.value}**")


class SettingsPanel(discord.ui.View):
    """An ephemeral panel with a select menu; picking a value edits the panel."""

    def __init__(self, aspect: str = "1:1") -> None:
        super().__init__(timeout=None)
        self.aspect = aspect
        menu = discord.ui.Select(
            custom_id="panel:aspect",
            placeholder="Aspect ratio",
            options=[discord.SelectOption(label=f"--ar {v}", value=v, default=v == aspect) for v in ("1:1", "3:2")],
        )
        menu.callback = self.picked
        self.add_item(menu)
        reset = discord.ui.Button(label="Reset", style=discord.ButtonStyle.danger, custom_id="panel:reset")
        reset.callback = self.reset
        self.add_item(reset)

    def embed(self) -> discord.Embed:
        """What the settings are now."""
        embed = discord.Embed(title="Your settings", colour=0x5865F2, description="Parameters in a prompt win.")
        embed.add_field(name="Aspect ratio", value=self.aspect)
        return embed

    async def picked(self, interaction: discord.Interaction) -> None:
        panel = SettingsPanel(interaction.data["values"][0])  # type: ignore[index]  # a select's interaction data always carries values
        await interaction.response.edit_message(embed=panel.embed(), view=panel)

    async def reset(self, interaction: discord.Interaction) -> None:
        panel = SettingsPanel()
        await interaction.response.edit_message(embed=panel.embed(), view=panel)


class PictureBot(discord.Client):
    """/imagine with progress and a grid, /settings with a select, /note with a modal, /nap never answers."""

    def __init__(self, steps: int = 3, step_s: float = 0.1) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.steps, self.step_s = steps, step_s
        tree = self.tree

        @tree.command(description="Create images from a prompt")
        @app_commands.describe(prompt="What to draw")
        async def imagine(interaction: discord.Interaction, prompt: str) -> None:
            # Escaped as the real bot escapes prompts (bot/messages.py).
            head = f"**{discord.utils.escape_markdown(prompt)}** - <@{interaction.user.id}>"
            cancel = discord.ui.View(timeout=None)
            cancel.add_item(discord.ui.Button(emoji="❌", custom_id="pic:cancel"))
            await interaction.response.send_message(f"{head} (Waiting to start)", view=cancel)
            for step in range(1, self.steps + 1):
                await asyncio.sleep(self.step_s)
                preview = discord.File(io.BytesIO(picture("#888888", 64)), filename="preview.png")
                percent = 100 * step // (self.steps + 1)
                await interaction.edit_original_response(content=f"{head} ({percent}%) (fast)", attachments=[preview])
            grid = discord.ui.View(timeout=None)
            for action in "uv":
                for index in range(1, 5):
                    grid.add_item(GridButton(action, index))
            file = discord.File(io.BytesIO(grid_picture()), filename="grid.png")
            await interaction.edit_original_response(content=f"{head} (fast)", attachments=[file], view=grid)

        @tree.command(description="View and change your settings")
        async def settings(interaction: discord.Interaction) -> None:
            panel = SettingsPanel()
            await interaction.response.send_message(embed=panel.embed(), view=panel, ephemeral=True)

        @tree.command(description="Leave a note in a form")
        async def note(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(NoteModal())

        @tree.command(description="Never answer (to see what the page shows then)")
        async def nap(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(GridButton)
        await self.tree.sync()


@dataclass
class PageScene:
    """A sandbox with alice and bob in guild "studio", PictureBot logged in, and the page's URL."""

    discord: Sandbox
    page: WebUI
    alice: User
    bob: User
    general: Channel

    @property
    def url(self) -> str:
        """The page's URL."""
        return self.page.url


@contextlib.asynccontextmanager
async def page_scene(bot: discord.Client | None = None, *, with_bot: bool = True) -> AsyncIterator[PageScene]:
    """A started sandbox and web page (ephemeral ports), with `bot` (default PictureBot) logged in unless not."""
    async with Sandbox() as sandbox:
        alice, bob = sandbox.add_user("alice"), sandbox.add_user("bob")
        guild = sandbox.add_guild("studio", channels=["general", "showcase"], members=[alice, bob])
        page = WebUI(sandbox)
        await page.start(port=0)
        scene = PageScene(sandbox, page, alice, bob, guild.channel("general"))
        try:
            if not with_bot:
                yield scene
                return
            async with running_bot(bot or PictureBot(), sandbox):
                yield scene
        finally:
            await page.stop()


@contextlib.asynccontextmanager
async def browser(width: int = 1280, height: int = 860) -> AsyncIterator[Any]:
    """A headless Chromium page (Playwright) from the system's Chromium, never a downloaded one."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await chromium.new_context(viewport={"width": width, "height": height})
            yield await context.new_page()
        finally:
            await chromium.close()

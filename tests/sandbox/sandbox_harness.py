"""A minimal discord.py bot and a world to run it in, shared by the emulator's tests."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from sandbox.botrunner import running_bot
from sandbox.client import Sandbox
from sandbox.models import Channel, Guild, User

log = logging.getLogger(__name__)

# A real 1x1 PNG, so attachments carry plausible bytes.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cf"
    "c0f01f0005000201a1d2b3d30000000049454e44ae426082"
)


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test in a fresh event loop, with an overall time limit."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), timeout=30))

    return wrapper


class Upscale(discord.ui.DynamicItem[discord.ui.Button], template=r"upscale:(?P<job>[a-z0-9]+):(?P<index>[1-4])"):
    """A persistent button whose state lives in its custom_id, as the project's grid buttons do."""

    def __init__(self, job: str, index: int) -> None:
        super().__init__(discord.ui.Button(label=f"U{index}", custom_id=f"upscale:{job}:{index}"))
        self.job, self.index = job, index

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> Upscale:
        return cls(match["job"], int(match["index"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"upscaling {self.job} #{self.index}")


class TitleModal(discord.ui.Modal, title="New title"):
    """A one-field modal; submitting it posts the title."""

    title_text = discord.ui.TextInput(label="Title", custom_id="title", max_length=100)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"retitled: {self.title_text.value}")


class TinyBot(discord.Client):
    """The smallest bot that exercises what the project's bot does: reply, defer + file, buttons, channel posts."""

    def __init__(self) -> None:
        # discord.py waits guild_ready_timeout after the last GUILD_CREATE before on_ready (2 s by default).
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.errors: list[BaseException] = []
        self.tree.on_error = self._on_tree_error
        tree = self.tree

        @tree.command(description="Answer pong")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong")

        @tree.command(description="Make a picture")
        @app_commands.describe(prompt="What to draw")
        async def imagine(interaction: discord.Interaction, prompt: str, count: int = 2) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.05)  # the "generation"
            view = discord.ui.View(timeout=None)
            for index in range(1, count + 1):
                view.add_item(Upscale("job1", index))
            file = discord.File(io.BytesIO(PNG), filename="grid.png")
            await interaction.followup.send(f"**{prompt}** - <@{interaction.user.id}>", file=file, view=view)

        @tree.command(description="Post to the channel with the bot's own API")
        async def announce(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.send_message("on it", ephemeral=True)
            await interaction.channel.send(text)

        @tree.command(description="Reply with too much text")
        async def chatter(interaction: discord.Interaction, length: int) -> None:
            await interaction.response.send_message("x" * length)

        @tree.command(description="Ask for a new title in a modal")
        async def retitle(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(TitleModal())

    async def setup_hook(self) -> None:
        self.add_dynamic_items(Upscale)
        await self.tree.sync()

    async def _on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        # Keep the failure for the test to look at instead of logging a traceback.
        self.errors.append(error)


@dataclass
class Scene:
    """A sandbox with two people in a guild, and the guild's general channel."""

    discord: Sandbox
    alice: User
    bob: User
    guild: Guild
    general: Channel


@contextlib.asynccontextmanager
async def scene(*, bot: discord.Client | None = None, validate: bool = True) -> AsyncIterator[Scene]:
    """A started sandbox with alice and bob in guild "studio", and (unless bot is None) TinyBot logged in."""
    async with Sandbox(validate=validate) as sandbox:
        alice, bob = sandbox.add_user("alice"), sandbox.add_user("bob")
        guild = sandbox.add_guild("studio", channels=["general", "random"], members=[alice, bob])
        here = Scene(sandbox, alice, bob, guild, guild.channel("general"))
        if bot is None:
            yield here
        else:
            async with running_bot(bot, sandbox):
                yield here

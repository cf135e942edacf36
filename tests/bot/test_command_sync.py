"""Slash commands are synced deliberately: on a changed command tree or when forced, never blindly."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord import app_commands

from bot.command_sync import sync_commands, tree_hash
from bot.commands import Commands
from bot.moderation import BannedWords


class _Redis:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    async def get(self, key: str) -> Any:
        return self.data.get(key)

    async def set(self, key: str, value: Any) -> None:
        self.data[key] = value


class _Tree(app_commands.CommandTree):
    def __init__(self) -> None:
        super().__init__(discord.Client(intents=discord.Intents.none()))
        self.synced: list[Any] = []

    async def sync(self, *, guild: Any = None) -> list[Any]:
        self.synced.append(guild.id if guild else None)
        return []


def _tree() -> _Tree:
    """A tree with the bot's commands; registering them uses none of their collaborators."""
    tree = _Tree()
    unused: Any = None
    Commands(
        user_prefs=unused,
        submitter=unused,
        outbox=unused,
        info=unused,
        models=unused,
        banned=BannedWords([]),
    ).register(tree)
    return tree


def test_syncs_once_then_only_on_change() -> None:
    """The first start syncs; a restart with the same commands does not; --sync forces; a change syncs."""

    async def scenario() -> list[list[Any]]:
        redis = _Redis()
        runs = []
        for force, extra in ((False, False), (False, False), (True, False), (False, True)):
            tree = _tree()
            if extra:
                tree.add_command(app_commands.Command(name="extra", description="new", callback=_extra))
            await sync_commands(tree, redis, [], force=force)
            runs.append(tree.synced)
        return runs

    assert asyncio.run(scenario()) == [[None], [], [None], [None]]


async def _extra(interaction: discord.Interaction) -> None:
    """A command added in a later version."""


def test_guild_sync_and_hash_depends_on_guilds() -> None:
    """With guild ids the commands go to each guild, and the guild list is part of the hash."""
    tree = _tree()
    assert tree_hash(tree, [1]) != tree_hash(tree, [2]) and tree_hash(tree, [1, 2]) == tree_hash(tree, [2, 1])
    asyncio.run(sync_commands(tree, _Redis(), [5, 6]))
    assert tree.synced == [5, 6]

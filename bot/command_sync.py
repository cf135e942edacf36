"""Deliberate slash-command syncing: only when the command tree changed (or when asked with ``--sync``).

Discord rate-limits command registration, and re-registering on every start is needless. The hash of the
commands as they would be registered, with the target guilds, is kept in Redis; a start with the same hash skips
the sync.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot import keys

if TYPE_CHECKING:
    import redis.asyncio

log = logging.getLogger(__name__)


def tree_hash(tree: app_commands.CommandTree, guild_ids: list[int]) -> str:
    """A stable hash of the commands and where they go."""
    payload = {
        "commands": sorted((c.to_dict(tree) for c in tree.get_commands()), key=lambda c: c["name"]),
        "guilds": sorted(guild_ids),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


async def sync_commands(
    tree: app_commands.CommandTree, connection: redis.asyncio.Redis, guild_ids: list[int], force: bool = False
) -> bool:
    """Register the commands if they changed since the last sync (or ``force``); returns whether it synced.

    With guild ids the commands are registered in those guilds (instant), else globally.
    """
    digest = tree_hash(tree, guild_ids)
    stored = await connection.get(keys.COMMAND_TREE_HASH)
    stored = stored.decode() if isinstance(stored, bytes) else stored
    if not force and stored == digest:
        log.info("commands unchanged since the last sync; not syncing (use --sync to force)")
        return False
    if guild_ids:
        for guild_id in guild_ids:
            guild = discord.Object(guild_id)
            tree.copy_global_to(guild=guild)
            synced = await tree.sync(guild=guild)
            log.info("synced %d commands to guild %s", len(synced), guild_id)
    else:
        synced = await tree.sync()
        log.info("synced %d global commands", len(synced))
    await connection.set(keys.COMMAND_TREE_HASH, digest)
    return True

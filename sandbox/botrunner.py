"""Running a discord.py client in the current event loop against a Sandbox, for in-process tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from sandbox.connect import point_discord_py_at

if TYPE_CHECKING:
    import discord

    from sandbox.client import Sandbox

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running_bot(client: discord.Client, sandbox: Sandbox, *, timeout: float = 10.0) -> AsyncIterator[None]:
    """Start `client` against `sandbox`, wait until it is ready, and close it on exit.

    Raises TimeoutError when the client is not ready within `timeout`, or whatever made `client.start` fail.
    """
    import discord.gateway
    import discord.http

    # Point discord.py here only for the bot's lifetime: other code in the process may expect discord.com.
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    point_discord_py_at(sandbox.base_url)
    task = asyncio.create_task(client.start(sandbox.bot_token), name="sandbox-bot")
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # re-raise why the bot stopped
            raise RuntimeError("the bot stopped before it was ready")
        if ready not in done:
            raise TimeoutError(f"the bot was not ready within {timeout}s")
        yield
    finally:
        ready.cancel()
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved

"""``imagine bot``: run the Discord bot (settings from IMAGINE_* variables; the token from DISCORD_TOKEN).

Commands are synced only when they changed since the last sync, or with ``--sync``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING

from cli import logs
from cli.logs import Verbosity

if TYPE_CHECKING:
    from bot.client import ImagineBot


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``bot`` subcommand."""
    parser = subparsers.add_parser("bot", help="run the Discord bot", description=__doc__)
    parser.add_argument("--sync", action="store_true", help="sync slash commands even if they look unchanged")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def run(args: argparse.Namespace) -> int:
    """Start the bot and run until interrupted; 2 when the settings are invalid."""
    import sys

    import discord
    from pydantic import ValidationError

    from bot.client import ImagineBot, use_discord_at
    from bot.metrics import serve_metrics
    from bot.settings import BotSettings
    from worker.settings import QueueSettings

    logs.setup(Verbosity.NORMAL, debug=args.verbose)
    # discord.py's own debug logs include gateway payloads; keep them at INFO even with -v.
    logging.getLogger("discord").setLevel(logging.INFO)
    try:
        settings = BotSettings()
        queue_settings = QueueSettings()
    except ValidationError as exc:
        print(f"imagine bot: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    use_discord_at(settings.discord_url)
    serve_metrics(queue_settings.metrics_host, settings.bot_metrics_port)
    bot = ImagineBot(settings, queue_settings, force_sync=args.sync)
    try:
        asyncio.run(_serve(bot, settings.discord_token.get_secret_value()))
    except discord.LoginFailure:
        # discord.py's message never includes the token; neither does this one.
        print(
            "imagine bot: Discord rejected DISCORD_TOKEN (improper token); check it in the developer portal",
            file=sys.stderr,
        )
        return 2
    return 0


async def _serve(bot: ImagineBot, token: str) -> None:
    """Run the bot until SIGTERM or SIGINT, then end its gateway session with close code 1000.

    ``Client.run`` handles only Ctrl-C, and ``docker compose stop`` sends SIGTERM. Even ``Client.close`` ends the
    session with 4000, not 1000: it closes the socket under the gateway's pending read, and that read's own cleanup
    sends 4000 first (discord.py #6134), so Discord keeps the bot shown online for about two minutes. Cancelling
    the read before closing leaves 1000, which Discord takes as "gone": the bot shows offline at once.
    """
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def stop(number: signal.Signals) -> None:
        logging.getLogger("bot").info("%s: closing the gateway session", number.name)
        stopping.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop, number)
    async with bot:
        runner = asyncio.create_task(bot.start(token), name="gateway")
        stop_wait = asyncio.create_task(stopping.wait())
        await asyncio.wait({runner, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        if runner.done():
            runner.result()  # a login failure or a closed session: raise it
            return
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        if bot.ws is not None and bot.ws.open:
            await bot.ws.close(code=1000)
        await bot.close()

"""``imagine bot``: run the Discord bot (settings from IMAGINE_* variables; the token from DISCORD_TOKEN).

Commands are synced only when they changed since the last sync, or with ``--sync``.
"""

from __future__ import annotations

import argparse
import logging


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``bot`` subcommand."""
    parser = subparsers.add_parser("bot", help="run the Discord bot", description=__doc__)
    parser.add_argument("--sync", action="store_true", help="sync slash commands even if they look unchanged")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def run(args: argparse.Namespace) -> int:
    """Start the bot and run until interrupted; 2 when the settings are invalid."""
    import sys

    from pydantic import ValidationError

    from bot.client import ImagineBot, use_discord_at
    from bot.metrics import serve_metrics
    from bot.settings import BotSettings
    from worker.settings import QueueSettings

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
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
    # log_handler=None: logging is configured above; discord.py would add a second handler.
    bot.run(settings.discord_token.get_secret_value(), log_handler=None)
    return 0

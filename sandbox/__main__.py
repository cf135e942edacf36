"""Run the emulator on its own, for a bot in another process: `python -m sandbox --port 8765`.

Then start the bot with IMAGINE_DISCORD_URL=http://127.0.0.1:8765 and the printed token.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from sandbox.client import Sandbox


def main(argv: list[str] | None = None) -> None:
    """Serve a sandbox with one guild and a few users until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default=None, help="the bot token to accept (default: a random one, printed)")
    parser.add_argument("--guild", default="sandbox", help="name of the guild to create")
    parser.add_argument("--users", default="alice,bob", help="comma-separated users to create in the guild")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a person stops it
        asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> None:
    sandbox = Sandbox(bot_token=args.token)
    users = [sandbox.add_user(name) for name in args.users.split(",") if name]
    sandbox.add_guild(args.guild, members=users)
    await sandbox.emulator.start(args.host, args.port)
    print(f"IMAGINE_DISCORD_URL={sandbox.base_url}")
    print(f"DISCORD_TOKEN={sandbox.bot_token}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()


if __name__ == "__main__":
    main()

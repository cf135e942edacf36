"""Run the emulator on its own, for a bot in another process: `python -m sandbox --port 8765`.

Then start the bot with IMAGINE_DISCORD_URL=http://127.0.0.1:8765 and the printed token. With `--web-port 8080`
the emulator also serves a Discord-like web page where a person uses the bot (see sandbox/web.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from cli import logs
from cli.logs import Verbosity
from sandbox.client import Sandbox
from sandbox.web import WebUI


def main(argv: list[str] | None = None) -> None:
    """Serve a sandbox with one guild and a few users until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default=None, help="the bot token to accept (default: a random one, printed)")
    parser.add_argument("--guild", default="sandbox", help="name of the guild to create")
    parser.add_argument("--users", default="alice,bob", help="comma-separated users to create in the guild")
    parser.add_argument("--channels", default="general", help="comma-separated text channels of the guild")
    parser.add_argument("--web-port", type=int, default=None, help="also serve the web page on this port")
    args = parser.parse_args(argv)
    logs.setup(Verbosity.NORMAL)  # quiet under `imagine run` (IMAGINE_LOG): there it prints the sandbox's ready line
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a person stops it
        asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> None:
    sandbox = Sandbox(bot_token=args.token)
    users = [sandbox.add_user(name) for name in args.users.split(",") if name]
    channels = [name for name in args.channels.split(",") if name] or ["general"]
    sandbox.add_guild(args.guild, channels=channels, members=users)
    await sandbox.emulator.start(args.host, args.port)
    page = WebUI(sandbox) if args.web_port is not None else None
    print(f"IMAGINE_DISCORD_URL={sandbox.base_url}")
    if args.token is None:  # a token the caller chose is theirs already: never echo a token into logs
        print(f"DISCORD_TOKEN={sandbox.bot_token}", flush=True)
    if page is not None:
        print(f"WEB_URL={await page.start(args.host, args.web_port)}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        if page is not None:
            await page.stop()
        await sandbox.stop()


if __name__ == "__main__":
    main()

"""``imagine run``: the whole service on this machine: Redis, a worker, the bot and (without a token) a local Discord.

With ``DISCORD_TOKEN`` set (in the environment or ``.env``) the bot connects to Discord. Without it, the sandbox
(a local Discord emulator) starts too, with its web page at http://127.0.0.1:8080, and the bot talks to it.
Ctrl-C stops everything: the bot, then the worker, the sandbox and Redis last.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from cli import logs
from cli.logs import Verbosity
from cli.processes import Child, ChildSpec, PrefixedOutput, stop_in_order, wait_until
from worker.embedded_redis import free_port

log = logging.getLogger(__name__)

SANDBOX_USERS = "alice,bob,carol"
SANDBOX_CHANNELS = "general,showcase"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``run`` subcommand."""
    parser = subparsers.add_parser("run", help="run the whole service locally", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="where the sandbox page listens (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="the sandbox web page's port (default 8080)")
    parser.add_argument("--data-dir", type=Path, default=Path(".imagine"), help="Redis data (default ./.imagine)")
    parser.add_argument("--model", help="the worker's model (IMAGINE_MODEL; default: the bundled demo model)")
    parser.add_argument("--sandbox", action="store_true", help="use the local sandbox even if DISCORD_TOKEN is set")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds each part gets to stop before a kill")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="every part's full log (RQ's housekeeping, library warnings, progress bars), not just ready and job lines",
    )
    return parser


@dataclass(frozen=True)
class Plan:
    """What ``imagine run`` starts, decided before anything starts (so it can be tested without processes)."""

    redis: ChildSpec
    redis_url: str
    worker: ChildSpec
    bot: ChildSpec
    sandbox: ChildSpec | None
    web_url: str | None
    discord_url: str | None


def plan(args: argparse.Namespace, environ: dict[str, str], *, redis_port: int, api_port: int) -> Plan:
    """The command lines and environments of the parts, for this environment (``.env`` already merged in)."""
    python = sys.executable
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    # The embedded Redis has no password: one meant for another server (in .env) would make every AUTH fail.
    base = {**environ, "IMAGINE_REDIS_URL": redis_url, "IMAGINE_REDIS_PASSWORD": ""}
    # The parts log through cli/logs.py: quiet, each shows its ready line, its jobs' lines and real warnings.
    base[logs.ENV] = Verbosity.VERBOSE if args.verbose else Verbosity.QUIET
    if args.model:
        base["IMAGINE_MODEL"] = args.model
    worker = ChildSpec("worker", [python, "-m", "cli", "worker"], base)
    if _has_token(environ) and not args.sandbox:
        redis = _redis_spec(python, redis_port, args.data_dir / "redis", base, fresh=False)
        return Plan(redis, redis_url, worker, ChildSpec("bot", [python, "-m", "cli", "bot"], base), None, None, None)
    # The sandbox forgets its users and channels when it stops, so jobs and settings kept for them would only
    # point at things that no longer exist: its Redis starts empty every time (and apart from the Discord one).
    redis = _redis_spec(python, redis_port, args.data_dir / "sandbox-redis", base, fresh=True)
    sandbox_token = f"sandbox.{secrets.token_urlsafe(24)}"
    discord_url = f"http://127.0.0.1:{api_port}"
    places = ["--users", SANDBOX_USERS, "--channels", SANDBOX_CHANNELS, "--web-port", str(args.port)]
    sandbox_args = ["--host", args.host, "--port", str(api_port), "--token", sandbox_token, *places]
    sandbox = ChildSpec("sandbox", [python, "-m", "sandbox", *sandbox_args], base)
    # Both token names: a real token under either one (here or in .env) must not reach the sandbox.
    bot_env = {**base, "DISCORD_TOKEN": sandbox_token, "IMAGINE_DISCORD_TOKEN": sandbox_token}
    # Global commands (no guild list): the sandbox's guild is new on every start, and DMs need global commands.
    bot_env.update(IMAGINE_DISCORD_URL=discord_url, IMAGINE_GUILD_IDS="")
    # --sync: the command hash in Redis outlives the sandbox, whose command list starts empty every time.
    bot = ChildSpec("bot", [python, "-m", "cli", "bot", "--sync"], bot_env)
    web_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    return Plan(redis, redis_url, worker, bot, sandbox, f"http://{web_host}:{args.port}", discord_url)


def _redis_spec(python: str, port: int, directory: Path, env: dict[str, str], *, fresh: bool) -> ChildSpec:
    args = [python, "-m", "cli.redis_server", "--port", str(port), "--dir", str(directory)]
    return ChildSpec("redis", [*args, "--fresh"] if fresh else args, env)


def run(args: argparse.Namespace) -> int:
    """Start the parts, wait for Ctrl-C (or for a part to exit), stop them; 1 when a part failed."""
    logs.setup(Verbosity.VERBOSE if args.verbose else Verbosity.QUIET)
    environ = _environment()
    if not _port_free(args.host, args.port) and (args.sandbox or not _has_token(environ)):
        print(f"imagine run: port {args.port} is in use; choose another with --port", file=sys.stderr)
        return 2
    the_plan = plan(args, environ, redis_port=free_port(), api_port=free_port())
    output = PrefixedOutput()
    stop = threading.Event()
    started: list[Child] = []

    def on_signal(number: int, frame: object) -> None:
        if stop.is_set():  # a second Ctrl-C: no more waiting
            for child in started:
                child.kill_now()
        stop.set()

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, on_signal)
    failed = False
    try:
        failed = not _start_all(the_plan, output, started, stop, quiet=not args.verbose)
        while not failed and not stop.wait(0.2):
            for child in started:
                if not child.running:
                    output.write(child.name, f"exited with status {child.process.returncode}; stopping everything")
                    failed = True
    finally:
        print("imagine run: stopping… (Ctrl-C again to kill)", flush=True)
        # The bot first (it stops submitting), then the worker (it finishes or hands back its job), Redis last.
        order = {"bot": 0, "worker": 1, "sandbox": 2, "redis": 3}
        stop_in_order(sorted(started, key=lambda c: order[c.name]), args.grace, output)
    return 1 if failed else 0


def _start_all(
    the_plan: Plan, output: PrefixedOutput, started: list[Child], stop: threading.Event, *, quiet: bool
) -> bool:
    """Start Redis, the sandbox, the worker and the bot; False (after saying why) when one does not come up."""
    try:
        redis = Child(the_plan.redis, output)
        started.append(redis)
        wait_until(lambda: _redis_up(the_plan.redis_url) or stop.is_set(), 30, [redis], "Redis answered")
        if the_plan.sandbox is not None and not stop.is_set():
            sandbox_up = threading.Event()

            def on_sandbox_line(line: str) -> None:
                if line.startswith("WEB_URL="):
                    output.write("sandbox", f"ready: a local Discord at {the_plan.discord_url}, its page at {line[8:]}")
                    sandbox_up.set()

            def shown(line: str) -> bool:  # its KEY=value lines are for this process (and people running it alone)
                return not (quiet and line.startswith(("IMAGINE_DISCORD_URL=", "WEB_URL=")))

            sandbox = Child(the_plan.sandbox, output, on_sandbox_line, shown=shown)
            started.append(sandbox)
            wait_until(lambda: sandbox_up.is_set() or stop.is_set(), 30, [sandbox], "the sandbox listened")
        if stop.is_set():  # Ctrl-C while starting: start nothing more
            return True
        started.append(Child(the_plan.worker, output))
        started.append(Child(the_plan.bot, output))
    except (RuntimeError, OSError) as exc:
        print(f"imagine run: {exc}", file=sys.stderr, flush=True)
        return False
    if the_plan.web_url is not None:
        note = "a local Discord; the bot comes online in a few seconds"
        print(f"\n  Open {the_plan.web_url}  ({note})\n", flush=True)
    else:
        print("\n  The bot connects to Discord with DISCORD_TOKEN (--sandbox: a local Discord instead)\n", flush=True)
    return True


def _environment() -> dict[str, str]:
    """The process environment with ``.env`` underneath it (real environment variables win, as in the settings)."""
    from dotenv import dotenv_values

    from_file = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    return {**from_file, **os.environ}


def _has_token(environ: dict[str, str]) -> bool:
    return bool(environ.get("DISCORD_TOKEN") or environ.get("IMAGINE_DISCORD_TOKEN"))


def _redis_up(url: str) -> bool:
    import redis

    try:
        with redis.Redis.from_url(url, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def _port_free(host: str, port: int) -> bool:
    """Whether the sandbox page can listen on host:port, bound as aiohttp's TCPSite will bind it.

    Like asyncio's create_server: every address the host resolves to, with SO_REUSEADDR on POSIX (so the
    TIME-WAIT sockets a browser tab leaves behind a stopped server do not count, for the minute they last) and
    IPv6 sockets IPv6-only. A port something listens on is still in use.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return False
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as sock:
            if os.name == "posix" and sys.platform != "cygwin":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError:
                return False
    return True

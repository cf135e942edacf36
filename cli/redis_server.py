"""The ``[redis]`` part of ``imagine run``: an EmbeddedRedis in a process of its own, printing the server's log.

``imagine run`` starts this as a child in a new session, so the Redis server (this process's child) is out of the
terminal's reach too: Ctrl-C stops the bot and the worker first, and Redis only when they no longer need it.
Under a quiet ``imagine run`` (IMAGINE_LOG=quiet) only the server's real warnings are printed after the ready line.
Run as ``python -m cli.redis_server --port N --dir PATH [--fresh]``; stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import sys
import threading
from pathlib import Path

from cli import logs
from cli.logs import Verbosity
from worker.embedded_redis import EmbeddedRedis

_POLL_S = 0.2  # how often the server's log file is checked for new lines
# A server log line: "pid:role date time.ms LEVEL message", LEVEL one of . - * # (debug, verbose, notice, warning).
_LOG_LINE = re.compile(r"^\d+:[A-Z] .*?\d\d:\d\d:\d\d\.\d+ (?P<level>[.*#-]) ")
# Warning-level lines every start or stop logs, kept from a quiet terminal (IMAGINE_LOG=quiet): the banner, the
# version and config lines, and advice about the host (vm.overcommit_memory, transparent huge pages, TCP backlog).
_ROUTINE = (
    "is starting oO0O",
    "version=",
    "Configuration loaded",
    "Server initialized",
    "overcommit",
    "Transparent Huge Pages",
    "TCP backlog",
    "User requested shutdown",
    "ready to exit",
)


def main(argv: list[str] | None = None) -> int:
    """Serve Redis with an append-only file in --dir until told to stop; 1 when it cannot start."""
    parser = argparse.ArgumentParser(prog="python -m cli.redis_server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True, help="where the data (and server.log) live")
    parser.add_argument("--fresh", action="store_true", help="start empty: delete the data a previous run left")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    if args.fresh:  # only what the server writes, whatever else someone keeps in --dir
        shutil.rmtree(args.dir / "appendonlydir", ignore_errors=True)
        (args.dir / "dump.rdb").unlink(missing_ok=True)
    log_path = args.dir / "server.log"
    offset = log_path.stat().st_size if log_path.exists() else 0  # show this run's lines, not old runs'
    server = EmbeddedRedis(port=args.port, directory=args.dir, persist=True)
    try:
        server.start()
    except Exception as exc:  # any failure to start is reported the same way: the reason, and exit 1
        print(f"could not start: {exc}", flush=True)
        return 1
    quiet = logs.verbosity(Verbosity.NORMAL) is Verbosity.QUIET
    try:
        name = f"{Path(server.binary).name} {_version(server.url)}".strip()
        print(f"ready: {name} on {server.url}, data in {args.dir}", flush=True)
        while not stop.wait(_POLL_S):
            offset = _print_new_lines(log_path, offset, quiet)
    finally:
        server.stop()
        _print_new_lines(log_path, offset, quiet)
    return 0


def _version(url: str) -> str:
    """The server's version, as it reports it (valkey also reports a Redis-compatible one)."""
    import redis

    try:
        with redis.Redis.from_url(url, socket_timeout=2) as client:
            info = client.info("server")
    except redis.RedisError:
        return ""
    return str(info.get("valkey_version") or info.get("redis_version") or "")


def _print_new_lines(path: Path, offset: int, quiet: bool = False) -> int:
    """Print the whole lines added to `path` since `offset` (quiet: only real warnings); returns the new offset."""
    with path.open("rb") as log:
        log.seek(offset)
        chunk = log.read()
    complete = chunk[: chunk.rfind(b"\n") + 1]
    lines = complete.decode(errors="replace").splitlines(keepends=True)
    shown = [line for line in lines if not quiet or _warns(line)]
    if shown:
        sys.stdout.write("".join(shown))
        sys.stdout.flush()
    return offset + len(complete)


def _warns(line: str) -> bool:
    """Whether a server log line is a warning worth showing: level "#", and not one every start and stop logs."""
    found = _LOG_LINE.match(line)
    return found is not None and found["level"] == "#" and not any(routine in line for routine in _ROUTINE)


if __name__ == "__main__":
    sys.exit(main())

"""Fault benchmark: the reliability promises (docs/reliability.md) held to account over repeated faults.

    .venv/bin/python -m bench.faults [--parts 1,2,3,4,5,6] [--write docs/reliability.md]

Six parts, each against the real processes (``imagine bot`` and demo-model ``imagine worker`` subprocesses, a
private Redis, the Discord emulator in this process: tests/e2e/stack.py's Stack), the demo model at 2 steps:

1. Redis restarted ×5 mid-run with its append-only file: every job delivered exactly once (bench/fault_redis.py);
2. the same without persistence: every user whose job was in flight told, once; nobody left waiting;
3. the worker running a job SIGKILLed ×20, restarted each time: the job run again and delivered once, or failed
   with a message when killed on every attempt (bench/fault_kills.py);
4. the bot killed -9 ×10, at random moments and in the window between Discord taking a result and the bot
   recording it, restarted: every result delivered exactly once;
5. 400 simultaneous /imagine (20 users × 20): no Internal error, limits exact, all answered in time
   (bench/fault_commands.py);
6. forged and mangled button ids pressed: no job made, every press answered.

Counts are what users saw in the emulator (bench/fault_watch.py). The section gives each part's counts and
whether its promise held, and how long each part took; the exit status is 1 when a promise did not hold.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    sys.path[0] = str(HERE.parent)

import argparse  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

from bench import fault_commands, fault_kills, fault_redis, report  # noqa: E402
from bench.fault_watch import BenchError, Row  # noqa: E402
from tests.e2e.stack import Stack  # noqa: E402

TITLES = {
    1: "Redis restart, with persistence",
    2: "Redis restart, without persistence",
    3: "Worker SIGKILL",
    4: "Bot kill",
    5: "Burst of commands",
    6: "Forged button ids",
}


def run(args: argparse.Namespace) -> tuple[list[tuple[int, Row]], float]:
    """Run the chosen parts (those sharing a stack on one); returns each part's row and the total seconds."""
    parts = sorted({int(p) for p in args.parts.split(",")})
    rng = random.Random(args.seed)
    started = time.monotonic()
    rows: list[tuple[int, Row]] = []

    def measure(stack: Stack, chosen: dict[int, Callable[[Stack], Row]]) -> None:
        chosen = {n: part for n, part in chosen.items() if n in parts}
        if not chosen:
            return
        with stack:
            for number, part in chosen.items():
                print(f"part {number}: {TITLES[number]} …", file=sys.stderr, flush=True)
                rows.append((number, _timed(number, stack, part)))
                print(f"part {number}: {rows[-1][1].seconds:.0f} s", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-faults-redis-") as tmp:
        measure(
            fault_redis.stack(persist=True, redis_dir=Path(tmp)),
            {1: lambda s: fault_redis.restarts(s, args.restarts, persist=True)},
        )
    measure(
        fault_redis.stack(persist=False, redis_dir=None),
        {2: lambda s: fault_redis.restarts(s, args.restarts, persist=False)},
    )
    measure(
        fault_kills.stack(),
        {
            3: lambda s: fault_kills.worker_kills(s, args.worker_kills, args.killed_every_attempt),
            4: lambda s: fault_kills.bot_kills(s, args.bot_kills, rng),
        },
    )
    measure(
        fault_commands.stack(args.concurrent, args.queued),
        {
            5: lambda s: fault_commands.burst(s, args.burst_users, args.burst_each, args.concurrent, args.queued),
            6: fault_commands.forged_ids,
        },
    )
    return rows, time.monotonic() - started


def _timed(number: int, stack: Stack, part: Callable[[Stack], Row]) -> Row:
    """Run one part and time it; a part that could not run is a row that did not hold, saying why."""
    started = time.monotonic()
    try:
        row = part(stack)
    except (BenchError, TimeoutError, AssertionError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        row = Row(TITLES[number], "—", f"the part could not finish: {why}", "—", held=False)
    row.seconds = time.monotonic() - started
    return row


def body(rows: list[tuple[int, Row]], total_s: float) -> str:
    """The section's body: one table row per part, then each part's notes."""
    lines = [
        "Each part runs the real processes: `imagine bot` and demo-model `imagine worker` subprocesses (2 steps, "
        "128 px), a private Redis and the Discord emulator in the bench's process (tests/e2e/stack.py). Counts are "
        "what users saw in the emulator: result messages posted per job, “Job lost” edits, each command's and "
        "press's answer.",
        "",
        "| # | fault | what was done | counts | promise | held | time |",
        "|---|---|---|---|---|---|---|",
    ]
    for number, row in rows:
        held = "**yes**" if row.held else "**NO**"
        lines.append(
            f"| {number} | {row.part} | {row.done} | {row.counts} | {row.promise} | {held} | {_seconds(row.seconds)} |"
        )
    lines += ["", f"Total {total_s:.0f} s, starting and stopping the processes included.", ""]
    for number, row in rows:
        lines += _notes(number, row)
    return "\n".join(lines)


def _notes(number: int, row: Row) -> list[str]:
    """A part's notes: sentences as a list, table lines as a table."""
    if not row.notes:
        return []
    out = [f"**{number}. {row.part}**", ""]
    in_table = False
    for note in row.notes:
        table_line = note.startswith("|")
        if table_line != in_table and out[-1] != "":
            out.append("")
        out.append(note if table_line else f"- {note}")
        in_table = table_line
    return [*out, ""]


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def main() -> int:
    """Run the benchmark and print its markdown section (``--write``: into that file too)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="1,2,3,4,5,6", help="comma list of the parts to run (default all)")
    parser.add_argument("--restarts", type=int, default=5, help="Redis restarts in parts 1 and 2 (default 5)")
    parser.add_argument("--worker-kills", type=int, default=20, help="worker SIGKILLs in part 3 (default 20)")
    parser.add_argument(
        "--killed-every-attempt", type=int, default=2, help="part 3's jobs killed on all their attempts (default 2)"
    )
    parser.add_argument("--bot-kills", type=int, default=10, help="bot kills in part 4 (default 10)")
    parser.add_argument("--burst-users", type=int, default=20, help="users in part 5's burst (default 20)")
    parser.add_argument("--burst-each", type=int, default=20, help="commands per user in the burst (default 20)")
    parser.add_argument("--concurrent", type=int, default=3, help="burst: jobs a user may run at once (default 3)")
    parser.add_argument("--queued", type=int, default=10, help="burst: jobs a user may queue beyond (default 10)")
    parser.add_argument("--seed", type=int, default=14, help="seed of part 4's random kill points (default 14)")
    report.add_write_argument(parser)
    args = parser.parse_args()
    rows, total_s = run(args)
    report.emit(args, "faults", report.section("faults", "Faults", body(rows, total_s)))
    return 0 if all(row.held for _, row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

"""How every benchmark reports: a markdown section that says where, when and on what it was measured.

Each bench prints one section and, with ``--write docs/performance.md``, puts it in that file between its own
markers (``<!-- bench:NAME -->`` … ``<!-- /bench:NAME -->``), replacing what an earlier run wrote there. Figures
in the docs are therefore always what a script printed: prose around the markers explains, never quotes numbers.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def add_write_argument(parser: argparse.ArgumentParser) -> None:
    """``--write PATH``: put the printed section into that markdown file as well."""
    parser.add_argument(
        "--write", type=Path, metavar="PATH", help="also put the section into this markdown file (between its markers)"
    )


def cpu_model() -> str:
    """The processor's model name, as the kernel reports it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    """Physical memory in GiB, where /proc/meminfo says."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine(accelerator: str | None = None) -> str:
    """One line naming the machine: CPU, cores, memory, the accelerator if any, OS and Python."""
    memory = memory_gib()
    parts = [f"{cpu_model()}, {os.cpu_count()} logical CPUs"]
    if memory is not None:
        parts.append(f"{memory:.0f} GiB")
    if accelerator:
        parts.append(accelerator)
    parts.append(f"{platform.system()} {platform.machine()}, Python {platform.python_version()}")
    return "; ".join(parts)


def commit() -> str:
    """The measured commit (short hash), marked ``+changes`` when the code (not docs/) differs from it."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            # Documents do not count: a bench writing its section into docs/ must not mark the next one's commit.
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)docs"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}+changes" if dirty else sha


def provenance(model: str | None = None, accelerator: str | None = None) -> str:
    """Where, when and on what: date, machine, load, commit and (for engine benches) the model."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    lines = [
        f"- measured: {now}, commit `{commit()}`",
        f"- machine: {machine(accelerator)}",
    ]
    if load is not None:
        lines.append(f"- load average when it started: {load:.2f} (1 min)")
    if model:
        lines.append(f"- model: {model}")
    return "\n".join(lines)


def command_line() -> str:
    """The command that produced the section, as typed (without ``--write``)."""
    args: list[str] = []
    skip = False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if arg == "--write":
            skip = True
            continue
        if arg.startswith("--write="):
            continue
        args.append(arg)
    module = Path(sys.argv[0]).stem
    return " ".join(["python -m", f"bench.{module}", *args])


def section(name: str, title: str, body: str, model: str | None = None, accelerator: str | None = None) -> str:
    """The markdown section of bench ``name``: heading, command, provenance, then the bench's own body."""
    return "\n".join(
        [
            f"<!-- bench:{name} -->",
            f"### {title}",
            "",
            f"`{command_line()}`",
            "",
            provenance(model, accelerator),
            "",
            body.rstrip(),
            f"<!-- /bench:{name} -->",
        ]
    )


def write(path: Path, name: str, text: str) -> None:
    """Replace bench ``name``'s section in ``path`` (appending it when the file has none yet)."""
    old = path.read_text() if path.exists() else ""
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.DOTALL)
    if pattern.search(old):
        new = pattern.sub(lambda _: text, old, count=1)
    else:
        new = f"{old.rstrip()}\n\n{text}\n" if old else f"{text}\n"
    path.write_text(new)


def emit(args: argparse.Namespace, name: str, text: str) -> None:
    """Print the section, and write it into ``--write``'s file when given."""
    print(text)
    if getattr(args, "write", None):
        write(args.write, name, text)
        print(f"(written to {args.write})", file=sys.stderr)

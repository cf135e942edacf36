"""Bot benchmark: 100 simultaneous /imagine through the Discord emulator, against the real bot process.

    .venv/bin/python -m bench.bot [--users 100] [--write docs/performance.md]

Measures the time from each interaction reaching the gateway to the bot's first response (Discord allows 3 s),
the bot process's resident memory afterwards, and whether torch was ever loaded into it (read from
/proc/<pid>/maps: an imported torch maps libtorch). No worker runs: this is the bot's own cost of taking jobs (a
model card is published as a worker would, so the bot takes them instead of answering "No model online").
Each /imagine comes from a different user, so per-user limits do not refuse any.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    sys.path[0] = str(HERE.parent)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import redis  # noqa: E402

from bench import report  # noqa: E402
from sandbox.client import Sandbox  # noqa: E402
from sandbox.models import InteractionType  # noqa: E402
from worker.cards import ModelCard  # noqa: E402
from worker.embedded_redis import EmbeddedRedis  # noqa: E402
from worker.presence import Presence  # noqa: E402
from worker.spec import SD_GUIDANCE  # noqa: E402

REPO = HERE.parent


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_bytes(pid: int) -> int:
    """The process's resident set size (VmRSS in /proc/<pid>/status; no psutil needed)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def torch_loaded(pid: int) -> bool:
    """Whether the process has torch's native library mapped (true once ``import torch`` ran)."""
    maps = Path(f"/proc/{pid}/maps").read_text(errors="replace")
    return "libtorch" in maps or "/torch/" in maps


async def run(users: int) -> dict[str, float | bool | int]:
    """Start the emulator and the bot, fire the burst, measure."""
    sandbox = await Sandbox().start()
    people = [sandbox.add_user(f"user{i}") for i in range(users)]
    guild = sandbox.add_guild("bench", members=people)
    channel = guild.channel("general")
    redis_server = EmbeddedRedis().start()
    # The bundled demo model's card, as its worker would publish it (kept for the whole run; nothing runs the jobs).
    card = ModelCard(
        name="demo",
        family="demo",
        base_resolution=128,
        size_step=32,
        max_side=512,
        default_steps=20,
        guidance=SD_GUIDANCE,
    )
    Presence(redis.Redis.from_url(redis_server.url), card, "bench", ttl_s=3600).publish()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_")}
    env.update(
        PYTHONPATH=str(REPO),
        DISCORD_TOKEN=sandbox.bot_token,
        IMAGINE_DISCORD_URL=sandbox.base_url,
        IMAGINE_REDIS_URL=redis_server.url,
    )
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-bot-", suffix=".log", delete=False)  # noqa: SIM115
    bot = subprocess.Popen([sys.executable, "-m", "cli", "bot"], cwd=REPO, env=env, stdout=log, stderr=log)
    try:
        await sandbox.wait_for_bot(30)
        await sandbox.world.wait_until(lambda: any(c.name == "imagine" for c in sandbox.world.commands.values()), 30)
        await asyncio.sleep(2.5)  # discord.py finishes its start-up (READY handling) before taking interactions
        command = next(c for c in sandbox.world.commands.values() if c.name == "imagine")
        data = {"id": str(command.id), "name": "imagine", "type": 1}
        sent: dict[int, float] = {}
        interactions = []
        for i, person in enumerate(people):
            options = [{"name": "prompt", "type": 3, "value": f"a lighthouse number {i} --ar 3:2"}]
            interaction = sandbox.world.start_interaction(
                InteractionType.APPLICATION_COMMAND, person, channel, {**data, "options": options}
            )
            sent[interaction.id] = time.perf_counter()
            interactions.append(interaction)

        async def answered(interaction) -> float:
            await sandbox.world.wait_until(lambda: interaction.responded, 30)
            return (time.perf_counter() - sent[interaction.id]) * 1000

        latencies = await asyncio.gather(*(answered(i) for i in interactions))
        rss = rss_bytes(bot.pid)
        return {
            "users": users,
            "p50_ms": statistics.median(latencies),
            "p99_ms": _percentile(latencies, 0.99),
            "max_ms": max(latencies),
            "late": sum(1 for ms in latencies if ms > 3000),
            "rss_mib": rss / 2**20,
            "torch": torch_loaded(bot.pid),
            "violations": len(sandbox.pop_violations()),
        }
    finally:
        bot.terminate()
        bot.wait(15)
        await sandbox.stop()
        redis_server.close()
        Path(log.name).unlink(missing_ok=True)


def main() -> int:
    """Run the benchmark and print its markdown section (``--write``: into that file too)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100, help="simultaneous /imagine commands (default 100)")
    report.add_write_argument(parser)
    args = parser.parse_args()
    r = asyncio.run(run(args.users))
    body = "\n".join(
        [
            f"{r['users']} simultaneous `/imagine` (one per user) through the Discord emulator to the real bot "
            "process, with Redis, no worker:",
            "",
            "| measure | value |",
            "|---|---|",
            f"| time to first response, p50 | {r['p50_ms']:.0f} ms |",
            f"| time to first response, p99 | {r['p99_ms']:.0f} ms |",
            f"| slowest response | {r['max_ms']:.0f} ms |",
            f"| responses later than Discord's 3 s | {r['late']} |",
            f"| bot RSS after the burst | {r['rss_mib']:.0f} MiB |",
            f"| torch loaded in the bot process | {'yes' if r['torch'] else 'no'} |",
            f"| Discord rule violations | {r['violations']} |",
        ]
    )
    report.emit(args, "bot", report.section("bot", "Bot", body))
    return 0


if __name__ == "__main__":
    sys.exit(main())

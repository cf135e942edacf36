"""End-to-end benchmark: one /imagine grid through the whole system against the engine alone, as a ratio.

    .venv/bin/python -m bench.e2e [--runs 5] [--write docs/performance.md]

The system is the Discord emulator (in this process), a private Redis, a real ``imagine worker`` process and a real
``imagine bot`` process, all with default settings (the default model, progress events and progress edits at their
default intervals). A run times the slash command to the grid's MESSAGE_CREATE reaching the emulator's gateway.
The engine alone is ``Engine.run`` + ``files()`` in this process, on the spec the bot stored for that same run (so
the same prompt, seed and size), right after it: system and engine runs alternate, so other load hits both. The
first pair warms up (model caches, the bot's first post) and is not counted.

Each run is also split by the job's events in the Redis stream (their ids are Redis milliseconds): command →
``queued`` (bot: parse, admit, enqueue), → ``started`` (queue wait), → terminal event (the worker's job: engine,
previews, storing files), → grid message (the bot: read the event, fetch the grid, post it).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    sys.path[0] = str(HERE.parent)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from typing import Any  # noqa: E402

import redis  # noqa: E402

from bench import report  # noqa: E402
from sandbox.client import Sandbox  # noqa: E402
from worker import keys  # noqa: E402
from worker.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from worker.events import EventLog, EventType  # noqa: E402
from worker.spec import JobSpec  # noqa: E402

REPO = HERE.parent
PROMPT = "a lighthouse on a cliff at sunset, waves crashing below"
PHASES = ("bot: command → queued", "queue wait", "worker job", "bot: event → grid posted")


class Child:
    """A subprocess with its output in a temp file (shown when something goes wrong)."""

    def __init__(self, name: str, env: dict[str, str]):
        self.log = Path(tempfile.mkstemp(prefix=f"bench-e2e-{name}-", suffix=".log")[1])
        with self.log.open("ab") as out:
            args = [sys.executable, "-m", "cli", name]
            self.proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.unlink(missing_ok=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def scrape(port: int) -> dict[str, float]:
    """A metrics endpoint's samples as {'name{labels}': value} (prometheus_client's text format, parsed)."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


async def run(runs: int, extra_env: dict[str, str]) -> dict[str, Any]:
    """Start the system, then alternate system and engine grids; returns the timings."""
    from models.engine import Engine
    from models.settings import EngineSettings

    sandbox = await Sandbox().start()
    alice = sandbox.add_user("alice")
    channel = sandbox.add_guild("bench", members=[alice]).channel("general")
    redis_server = EmbeddedRedis().start()
    client = redis.Redis.from_url(redis_server.url)
    ports = {"worker": free_port(), "bot": free_port()}
    # Defaults for everything that is not wiring: the environment's IMAGINE_* settings are left out.
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_") and k != "DISCORD_TOKEN"}
    env.update(PYTHONPATH=str(REPO), IMAGINE_REDIS_URL=redis_server.url, **extra_env)
    worker = Child("worker", {**env, "IMAGINE_WORKER_METRICS_PORT": str(ports["worker"])})
    bot_env = {"DISCORD_TOKEN": sandbox.bot_token, "IMAGINE_DISCORD_URL": sandbox.base_url}
    bot = Child("bot", {**env, **bot_env, "IMAGINE_BOT_METRICS_PORT": str(ports["bot"])})

    grids: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
    edits: list[float] = []  # MESSAGE_UPDATEs in the channel: the bot's progress edits

    def on_event(name: str, data: dict[str, Any]) -> None:
        # Runs on the emulator's loop as the gateway event goes out: the moment the grid "arrives".
        if data.get("channel_id") != str(channel.id):
            return
        if name == "MESSAGE_CREATE" and data.get("attachments"):
            grids.put_nowait((time.time(), data))
        elif name == "MESSAGE_UPDATE":
            edits.append(time.time())

    sandbox.world.subscribe(on_event)
    engine = Engine.load(EngineSettings(_env_file=None))
    try:
        await sandbox.wait_for_bot(60)
        await sandbox.world.wait_until(lambda: any(c.name == "imagine" for c in sandbox.world.commands.values()), 60)
        await sandbox.world.wait_until(lambda: "engine loaded" in worker.output(), 300)
        await asyncio.sleep(2.5)  # discord.py finishes handling READY before it takes interactions
        system, alone, phases = [], [], []
        for i in range(runs + 1):
            if i == 1:
                edits.clear()  # count the timed runs' edits only
            started = time.time()
            await sandbox.slash("imagine", user=alice, channel=channel, timeout=3.0, prompt=f"{PROMPT} --seed {i}")
            arrived, message = await asyncio.wait_for(grids.get(), 120)
            job_id = message["components"][0]["components"][0]["custom_id"].split(":")[2]
            raw_spec = client.get(keys.spec(job_id))
            if raw_spec is None:
                raise RuntimeError(f"job {job_id}: its spec is not in Redis")
            spec = JobSpec.from_json(raw_spec)
            # In this (main) thread, as the worker runs it: torch's intra-op threads behave differently in a
            # thread pool's thread, where on a busy CPU it ran up to 50x faster than in a main thread.
            seconds = _engine_alone(engine, spec)
            if i == 0:
                continue  # warm-up
            system.append(arrived - started)
            alone.append(seconds)
            phases.append(_phases(EventLog(client).history(job_id), started, arrived))
            split = ", ".join(f"{name} {ms * 1000:.0f} ms" for name, ms in zip(PHASES, phases[-1], strict=True))
            print(f"run {i}: system {system[-1]:.3f}s, engine {seconds:.3f}s ({split})", flush=True)
        await asyncio.sleep(1.0)  # the last progress message's deletion lands before the counts are read
        metrics = {side: scrape(port) for side, port in ports.items()}
        return {
            "system": system,
            "alone": alone,
            "phases": phases,
            "metrics": metrics,
            "model": f"{engine.name} ({engine.family}, {spec.prompt.width}x{spec.prompt.height}, {spec.steps} steps)",
            "device": f"{engine.device}/{engine.dtype}",
            "violations": len(sandbox.pop_violations()),
            "env": extra_env,
            "edits": len(edits),
        }
    except BaseException:
        print(f"--- bot ---\n{bot.output()[-3000:]}\n--- worker ---\n{worker.output()[-3000:]}", file=sys.stderr)
        raise
    finally:
        bot.stop()
        worker.stop()
        await sandbox.stop()
        client.close()
        redis_server.close()


def _engine_alone(engine: Any, spec: JobSpec) -> float:
    started = time.perf_counter()
    engine.run(spec).files()
    return time.perf_counter() - started


def _phases(events: list[Any], started: float, arrived: float) -> list[float]:
    """Seconds in each of PHASES, from the job's event ids (Redis milliseconds)."""
    at: dict[str, float] = {}
    for event in events:
        if event.type is EventType.PROGRESS:
            continue
        name = "end" if event.terminal else str(event.type)
        at.setdefault(name, int(str(event.stream_id).split("-")[0]) / 1000)
    marks = [started, at["queued"], at["started"], at["end"], arrived]
    return [b - a for a, b in itertools.pairwise(marks)]


def figures(r: dict[str, Any], runs: int) -> str:
    """The figures as the body of a markdown section."""
    system, alone = statistics.median(r["system"]), statistics.median(r["alone"])
    ratios = [s / a for s, a in zip(r["system"], r["alone"], strict=True)]
    bot_m, worker_m = r["metrics"]["bot"], r["metrics"]["worker"]
    progress_events = sum(v for k, v in bot_m.items() if k.startswith("imagine_bot_deliveries_total{event=progress,"))
    done = worker_m.get("imagine_jobs_total{kind=imagine,outcome=done}", 0)
    lines = [
        f"Device {r['device']}. One `/imagine` at a time through the whole system (Discord emulator → bot process → "
        "Redis → worker process "
        f"→ engine → bot → emulator), default settings, against `Engine.run` + `files()` on the same spec in the "
        f"bench process, alternating, {runs} runs after a warm-up:",
        "",
        "| measure | p50 | min | max |",
        "|---|---|---|---|",
        f"| slash command → grid message | {system:.3f} s | {min(r['system']):.3f} s | {max(r['system']):.3f} s |",
        f"| engine alone (`run` + `files()`) | {alone:.3f} s | {min(r['alone']):.3f} s | {max(r['alone']):.3f} s |",
        f"| ratio, per run (goal ≤ 1.10) | **{statistics.median(ratios):.2f}** | {min(ratios):.2f} | "
        f"{max(ratios):.2f} |",
        "",
        "Where the system's time goes (p50 per phase, from the job's event ids in the Redis stream):",
        "",
        "| phase | p50 |",
        "|---|---|",
        *(
            f"| {name} | {statistics.median(p[i] for p in r['phases']) * 1000:.0f} ms |"
            for i, name in enumerate(PHASES)
        ),
        "",
        f"From the metrics endpoints (warm-up included): {done:.0f} jobs done, {progress_events:.0f} progress events "
        f"read by the bot; the timed runs' progress messages were edited {r['edits']} times in all. Discord rule "
        f"violations: {r['violations']}.",
    ]
    return "\n".join(lines)


def main() -> int:
    """Run the benchmark and print its markdown section (``--write``: into that file too)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up (default 5)")
    report.add_write_argument(parser)
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="a setting for the bot and worker (repeat)"
    )
    args = parser.parse_args()
    r = asyncio.run(run(args.runs, dict(item.split("=", 1) for item in args.env)))
    section = report.section("e2e", "End to end", figures(r, args.runs), model=str(r["model"]))
    report.emit(args, "e2e", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())

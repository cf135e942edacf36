"""Queue benchmark: per-job overhead, enqueue→start latency, and throughput with 1, 2, 4, 8 workers.

    .venv/bin/python -m bench.queue [--jobs 300] [--sleep 0.25] [--write docs/performance.md]

Runs against a private redis-server (worker.embedded_redis), never a shared one. Engines here are stand-ins:
``NoopEngine`` returns at once (what remains is the queue's own cost), ``SleepEngine`` sleeps a fixed time
per job (a GPU-bound job: the worker process waits, the CPU is free).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and "queue" would shadow the standard library's.
HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
    sys.path[0] = str(HERE.parent)

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import redis  # noqa: E402
from PIL import Image  # noqa: E402

from bench import report  # noqa: E402
from worker.cards import ModelCard  # noqa: E402
from worker.embedded_redis import EmbeddedRedis  # noqa: E402
from worker.engine import Progress  # noqa: E402
from worker.events import EventLog  # noqa: E402
from worker.process import serve  # noqa: E402
from worker.queue import JobQueue  # noqa: E402
from worker.settings import QueueSettings  # noqa: E402
from worker.spec import SD_GUIDANCE, JobKind, JobSpec, PromptFields, Requester, WeightedPrompt  # noqa: E402

if TYPE_CHECKING:
    from worker.engine import EngineClass

STARTS_KEY = "bench:starts"
LOADS_KEY = "bench:loads"
_PIXEL = Image.new("RGB", (1, 1))


@dataclass
class _Result:
    images: list[Image.Image]
    grid: Image.Image | None
    seed: int
    width: int = 1
    height: int = 1
    seconds: float = 0.0
    model: str = "bench"

    def files(self) -> dict[str, bytes]:
        return {"1.png": b"\x89PNG bench"}


class NoopEngine:
    """Returns at once; records when each run started (Unix time) in Redis when IMAGINE_REDIS_URL is set.

    Keeps the engine contract (worker/engine.py); mypy checks it below.
    """

    name, device, dtype, load_seconds = "noop", "cpu", "none", 0.0

    def __init__(self) -> None:
        url = os.environ.get("IMAGINE_REDIS_URL")
        self.redis = redis.Redis.from_url(url) if url else None
        self.starts: list[float] = []

    @classmethod
    def load(cls, settings: object = None) -> NoopEngine:
        engine = cls()
        if engine.redis is not None:
            engine.redis.incr(LOADS_KEY)
        return engine

    def card(self) -> ModelCard:
        return ModelCard(
            name=self.name,
            family="bench",
            base_resolution=64,
            size_step=64,
            max_side=256,
            default_steps=1,
            guidance=SD_GUIDANCE,
        )

    def run(
        self,
        spec: JobSpec,
        source: Image.Image | None = None,
        progress: Callable[[Progress], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> _Result:
        now = time.time()
        self.starts.append(time.perf_counter())
        if self.redis is not None:
            self.redis.rpush(STARTS_KEY, f"{spec.id} {now}")
        self._work()
        return _Result([_PIXEL], None, spec.seed)

    def _work(self) -> None:
        pass


class SleepEngine(NoopEngine):
    """Sleeps BENCH_SLEEP_S seconds per job, like a job waiting on a GPU."""

    def _work(self) -> None:
        time.sleep(float(os.environ.get("BENCH_SLEEP_S", "0.25")))


if TYPE_CHECKING:
    _noop: EngineClass = NoopEngine
    _sleep: EngineClass = SleepEngine


def spec(i: int) -> JobSpec:
    fields = PromptFields(prompts=[WeightedPrompt(text="bench")], width=64, height=64)
    requester = Requester(user_id=1_000 + i, channel_id=1)
    return JobSpec(
        kind=JobKind.IMAGINE, model=NoopEngine.name, prompt=fields, seed=i, steps=1, guidance=7.0, requester=requester
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def settings_for(url: str, engine: str) -> QueueSettings:
    return QueueSettings(_env_file=None, redis_url=url, engine=engine, queue_cap=100_000, progress_interval_s=1.0)


def overhead(url: str, jobs: int) -> dict[str, float]:
    """Per-job cost with a no-op engine: enqueue call, and worker cycle (gap between engine runs, saturated)."""
    settings = settings_for(url, "bench.queue:NoopEngine")
    client = redis.Redis.from_url(url)
    client.flushdb()
    queue = JobQueue(client, settings)
    enqueue_ms = []
    for i in range(jobs):
        started = time.perf_counter()
        queue.enqueue(spec(i))
        enqueue_ms.append((time.perf_counter() - started) * 1000)
    engine = NoopEngine()
    engine.redis = None
    serve(settings, burst=True, engine=engine)
    cycle_ms = [(b - a) * 1000 for a, b in zip(engine.starts, engine.starts[1:], strict=False)]
    return {
        "enqueue_p50": pct(enqueue_ms, 0.5),
        "enqueue_p99": pct(enqueue_ms, 0.99),
        "cycle_p50": pct(cycle_ms, 0.5),
        "cycle_p99": pct(cycle_ms, 0.99),
    }


def start_workers(url: str, engine: str, count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    root = HERE.parent
    base = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_")}
    base.update(env, PYTHONPATH=str(root), IMAGINE_REDIS_URL=url, IMAGINE_ENGINE=engine)
    cmd = [sys.executable, "-m", "cli", "worker"]
    return [
        subprocess.Popen(cmd, cwd=root, env=base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        w.terminate()
    for w in workers:
        w.wait(30)


def wait_loads(client: redis.Redis, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while int(client.get(LOADS_KEY) or 0) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start")
        time.sleep(0.05)


def latency(url: str, samples: int) -> dict[str, float]:
    """Enqueue → engine start, with one idle worker process waiting."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings = settings_for(url, "bench.queue:NoopEngine")
    queue = JobQueue(client, settings)
    workers = start_workers(url, settings.engine, 1, {})
    try:
        wait_loads(client, 1)
        out = []
        for i in range(samples):
            time.sleep(0.2)  # let the worker go idle (blocked on the queue)
            job = spec(i)
            sent = time.time()
            queue.enqueue(job)
            while client.llen(STARTS_KEY) <= i:
                time.sleep(0.0005)
            job_id, started = _text(client.lindex(STARTS_KEY, i)).split()
            assert job_id == job.id
            out.append((float(started) - sent) * 1000)
    finally:
        stop_workers(workers)
    return {"p50": pct(out, 0.5), "p99": pct(out, 0.99), "max": max(out)}


def throughput(url: str, workers_n: int, jobs: int, sleep_s: float) -> float:
    """Jobs per second with ``workers_n`` worker processes and a fixed-sleep engine."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings = settings_for(url, "bench.queue:SleepEngine")
    queue = JobQueue(client, settings)
    workers = start_workers(url, settings.engine, workers_n, {"BENCH_SLEEP_S": str(sleep_s)})
    try:
        wait_loads(client, workers_n)
        log = EventLog(client)
        started = time.perf_counter()
        specs = [spec(i) for i in range(jobs)]
        for s in specs:
            queue.enqueue(s)
        while not all(log.outcome(s.id) for s in specs[-workers_n:]) or client.llen(STARTS_KEY) < jobs:
            time.sleep(0.01)
        while not all(log.outcome(s.id) for s in specs):
            time.sleep(0.01)
        return jobs / (time.perf_counter() - started)
    finally:
        stop_workers(workers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300, help="jobs for the overhead run")
    parser.add_argument("--samples", type=int, default=30, help="enqueue→start samples")
    parser.add_argument("--sleep", type=float, default=0.25, help="simulated engine seconds per job")
    parser.add_argument("--per-worker", type=int, default=12, help="throughput jobs per worker")
    parser.add_argument("--workers", default="1,2,4,8")
    report.add_write_argument(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with EmbeddedRedis() as server:
        version = str(redis.Redis.from_url(server.url).info("server")["redis_version"])
        over = overhead(server.url, args.jobs)
        lat = latency(server.url, args.samples)
        rates = {n: throughput(server.url, n, n * args.per_worker, args.sleep) for n in _counts(args.workers)}

    counts = _counts(args.workers)
    lines = [
        f"Redis {version} (the private server measured). Engines are stand-ins: no-op for the overheads, a "
        f"{args.sleep} s sleep per job for throughput.",
        "",
        "| measure | p50 | p99 |",
        "|---|---|---|",
        f"| enqueue call (admission, spec, RQ job, `queued` event) | {over['enqueue_p50']:.2f} ms "
        f"| {over['enqueue_p99']:.2f} ms |",
        f"| worker cycle per job, no-op engine ({args.jobs} jobs) | {over['cycle_p50']:.2f} ms "
        f"| {over['cycle_p99']:.2f} ms |",
        f"| enqueue → engine start, idle worker ({args.samples} samples) | {lat['p50']:.2f} ms | {lat['p99']:.2f} ms |",
        "",
        f"| workers ({args.per_worker} jobs each) | jobs/s | vs N × one worker |",
        "|---|---|---|",
    ]
    one = rates[counts[0]] / counts[0]
    for n, rate in rates.items():
        lines.append(f"| {n} | {rate:.2f} | {rate / (n * one):.2f} |")
    report.emit(args, "queue", report.section("queue", "Queue", "\n".join(lines)))
    return 0


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _counts(text: str) -> list[int]:
    return [int(n) for n in text.split(",")]


if __name__ == "__main__":
    sys.exit(main())

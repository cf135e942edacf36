"""Bench parts 3 and 4: workers SIGKILLed mid-job; the bot killed -9 at random moments and in the post/record window.

Both run on one stack: the emulator, Redis, the bot and two demo-model workers with a 2 s heartbeat, 1 s
maintenance and 2 retries, so a killed worker's job is found abandoned within about 3 s and run again by the other
worker while the killed one restarts (under the same ``--name``, as a supervisor would restart it).
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from enum import StrEnum

from bench.fault_watch import (
    BenchError,
    Fate,
    Job,
    Row,
    StreamTail,
    all_ended,
    failure_text,
    is_result_post,
    on_loop,
    percentile,
    poll,
    result_posts,
    seen,
    settle,
    submit,
    violations,
    wait_for_fleet,
)
from bot import keys as bot_keys
from tests.e2e.stack import Process, Stack
from tests.faults.bot_stack import KillBotOn
from worker.process import WORKER_DIED

MAX_RETRIES = 2
QUEUE_ENV = {
    "IMAGINE_CONCURRENT_LIMIT": "2",
    "IMAGINE_QUEUED_LIMIT": "10",
    "IMAGINE_QUEUE_CAP": "200",
    "IMAGINE_HEARTBEAT_S": "2",
    "IMAGINE_MAINTENANCE_S": "1",
    "IMAGINE_MAX_RETRIES": str(MAX_RETRIES),
}
END_TIMEOUT_S = 90.0
NONCE_WINDOW_PAST_S = 20 * 60  # Discord dedupes a nonce for "a few minutes"; the emulator for 5


def stack() -> Stack:
    """The stack both parts run on (not started)."""
    return Stack(workers={"w1": {}, "w2": {}}, queue_env=QUEUE_ENV)


class Workers:
    """The stack's workers as the bench kills and restarts them.

    A killed worker is started again at once with the same command line, as a supervisor would. One that exits
    by itself is counted and started under a new ``--name``: RQ refuses a name whose registration still lives.
    """

    def __init__(self, stack: Stack):
        self.stack = stack
        self.exits: dict[str, str] = {}  # the name it ran under → how it ended

    def running(self, rq_name: str) -> Process:
        """The worker process behind an RQ worker name (``<--name>-<generation>.<pid>``)."""
        name = rq_name.rsplit("-", 1)[0]
        for process in self.stack.workers.values():
            if process.args[-1] == name:
                return process
        raise BenchError(f"no worker process is named {name!r}")

    def kill(self, process: Process) -> None:
        """SIGKILL the worker and start it again at once (in the background: it loads its model meanwhile)."""
        process.stop(kill=True)
        process.start()

    def revive(self) -> None:
        """Start again any worker that exited by itself, noting how it ended."""
        for key, process in self.stack.workers.items():
            if process.proc is not None and process.proc.poll() is not None:
                status = process.stop()
                self.exits[process.args[-1]] = f"status {status}, {_last_error(process)}"
                process.args[-1] = f"{key}-{len(self.exits)}"
                process.start()


def _last_error(process: Process) -> str:
    lines = [line for line in process.output().splitlines() if "Error:" in line]
    return f"`{lines[-1].strip()[:160]}`" if lines else "no error logged"


def kill_plan(kills: int, every_attempt: int) -> list[int]:
    """Kills per job: ``every_attempt`` jobs killed on each of their 1 + MAX_RETRIES attempts, spread through the
    run; the rest killed once; ``kills`` in all."""
    attempts = 1 + MAX_RETRIES
    once = kills - every_attempt * attempts
    if once < 0:
        raise ValueError(f"{kills} kills cannot kill {every_attempt} jobs {attempts} times each")
    plan = [1] * once
    for n in range(every_attempt):
        plan.insert((n + 1) * once // (every_attempt + 1) + n, attempts)
    return plan


def worker_kills(stack: Stack, kills: int, every_attempt: int) -> Row:
    """SIGKILL the worker running a job, ``kills`` times in all; count how each job ended."""
    tail, workers = StreamTail(stack), Workers(stack)
    users = [stack.alice, stack.bob, stack.carol]
    plan = kill_plan(kills, every_attempt)
    rerun: list[Job] = []  # killed once: must be run again and delivered once
    doomed: list[Job] = []  # killed on every attempt: must fail with a message
    made, missed, recovery = 0, 0, []
    for i, planned in enumerate(plan):
        workers.revive()
        wait_for_fleet(stack)
        job = submit(stack, users[i % len(users)], f"sigkill job {i}")
        (rerun if planned == 1 else doomed).append(job)
        killed_at = time.monotonic()
        for attempt in range(1, planned + 1):
            event = tail.wait_for(tail.started({job.job_id}, attempt), END_TIMEOUT_S)
            if event is None:
                raise BenchError(f"job {job.job_id}: attempt {attempt} never started")
            if tail.stage(job.job_id) == "ended":
                missed += 1  # it ended before the kill could land
                break
            workers.kill(workers.running(str(event.data.get("worker"))))
            made += 1
            killed_at = time.monotonic()
            workers.revive()
        poll(stack, all_ended(stack, [job]), END_TIMEOUT_S)
        recovery.append(time.monotonic() - killed_at)
    tail.read(block_ms=None)
    saw = seen(stack, rerun + doomed)
    delivered_once = sum(saw[j.job_id].posts == 1 and len(tail.attempts(j.job_id)) >= 2 for j in rerun)
    failed_told = sum(
        saw[j.job_id].fate is Fate.FAILED and failure_text(j) == WORKER_DIED and len(tail.attempts(j.job_id)) == 3
        for j in doomed
    )
    duplicates = sum(s.posts > 1 for s in saw.values())
    unended = sum(s.fate in (Fate.WAITING, Fate.RUNNING) for s in saw.values())
    counts = (
        f"{len(rerun)} jobs killed once: {delivered_once} run again and delivered once; {len(doomed)} killed on all "
        f"{1 + MAX_RETRIES} attempts: {failed_told} failed with the message; {duplicates} duplicates, "
        f"{unended} never ended"
    )
    notes = [
        f"Worker SIGKILLs: {made} (of {kills} planned; {missed} missed: the job ended first). Kill of the last attempt "
        f"→ the job's end shown: p50 {percentile(recovery, 0.5):.1f} s, max {max(recovery):.1f} s.",
        "A killed worker was started again at once under the same `--name`. Workers that exited by themselves: "
        f"{len(workers.exits)}"
        + (f" ({'; '.join(f'`{n}`: {how}' for n, how in workers.exits.items())})" if workers.exits else "")
        + ".",
        f"Discord rule violations: {violations(stack)}.",
    ]
    return Row(
        part=f"Worker SIGKILL ×{made}",
        done=f"SIGKILL of the worker running a job, the moment it started, restarted at once; 2 workers; "
        f"{MAX_RETRIES} retries",
        counts=counts,
        promise='re-run and delivered once, or "failed" with a message when killed on every attempt',
        held=made == kills and delivered_once == len(rerun) and failed_told == len(doomed) and duplicates == 0,
        notes=notes,
    )


class KillPoint(StrEnum):
    """Where in a job's life the bot is killed."""

    WINDOW = "post/record window, restarted at once"
    WINDOW_LATE = "post/record window, restarted 20 min later (past the nonce)"
    RANDOM = "random moment"


def bot_kill_plan(kills: int, rng: random.Random) -> list[KillPoint]:
    """Half the kills in the post/record window (a third of those restarted past the nonce), half at random."""
    window = kills // 2
    late = window // 3 + (1 if window % 3 == 2 else 0)
    plan = [KillPoint.WINDOW] * (window - late) + [KillPoint.WINDOW_LATE] * late + [KillPoint.RANDOM] * (kills - window)
    rng.shuffle(plan)
    return plan


def bot_kills(stack: Stack, kills: int, rng: random.Random) -> Row:
    """Kill -9 the bot ``kills`` times while two jobs are in flight, restart it; count each job's result posts."""
    tail = StreamTail(stack)
    wait_for_fleet(stack)
    started = time.monotonic()
    warm = submit(stack, stack.carol, "botkill warm-up")
    poll(stack, all_ended(stack, [warm]), END_TIMEOUT_S)
    span = time.monotonic() - started  # a job's life, command to result: random kills fall within it
    plan = bot_kill_plan(kills, rng)
    jobs: list[Job] = []
    where: Counter[str] = Counter()
    unmarked, recovery = 0, []
    for i, point in enumerate(plan):
        wait_for_fleet(stack)
        pair = [submit(stack, stack.alice, f"botkill {i} first"), submit(stack, stack.bob, f"botkill {i} second")]
        jobs += pair
        target = pair[0]
        if point is KillPoint.RANDOM:
            time.sleep(rng.uniform(0, span))
            assert stack.bot.proc is not None
            os.kill(stack.bot.proc.pid, signal.SIGKILL)
            where[f"random moment: {_stage(stack, tail, target)}"] += 1
        else:
            hook = KillBotOn(stack, is_result_post(target.job_id))
            if not poll(stack, _fired(hook), END_TIMEOUT_S):
                raise BenchError(f"job {target.job_id}: its result was never posted")
            unmarked += not stack.redis.exists(bot_keys.delivered(target.job_id))
            where[str(point)] += 1
        killed_at = time.monotonic()
        stack.bot.stop()
        if point is KillPoint.WINDOW_LATE:
            stack.discord.advance_clock(NONCE_WINDOW_PAST_S)
        stack.start_bot()
        poll(stack, all_ended(stack, pair), END_TIMEOUT_S)
        recovery.append(time.monotonic() - killed_at)
    settle(stack, 2.0)
    saw = seen(stack, jobs)
    once = sum(s.posts == 1 for s in saw.values())
    duplicates = sum(s.posts > 1 for s in saw.values())
    missing = sum(s.posts == 0 for s in saw.values())
    left = int(on_loop(stack, lambda: sum(not j.message.deleted for j in jobs)))
    window_kills = sum(point is not KillPoint.RANDOM for point in plan)
    notes = [
        "Kill points: " + "; ".join(f"{name} {n}" for name, n in sorted(where.items())) + ".",
        f"At the {window_kills} window kills the delivery mark was unset (Discord had the post, the bot had not "
        f"recorded it): {unmarked}. Kill → both jobs shown (restart included): p50 {percentile(recovery, 0.5):.1f} s, "
        f"max {max(recovery):.1f} s. Progress messages left behind: {left}.",
        f"Discord rule violations: {violations(stack)}.",
    ]
    return Row(
        part=f"Bot kill ×{kills}",
        done=f"kill -9 of the bot with 2 jobs in flight, restarted; random moments within a job's life "
        f"({span:.1f} s, command to result) and the post/record window (the emulator kills it while storing the post)",
        counts=f"{len(jobs)} jobs: {once} delivered once, {duplicates} duplicates, {missing} missing",
        promise="every result delivered exactly once",
        held=once == len(jobs),
        notes=notes,
    )


def _stage(stack: Stack, tail: StreamTail, job: Job) -> str:
    """How far the job had got when the bot died."""
    if on_loop(stack, lambda: result_posts(stack, job.job_id)):
        return "result shown"
    return {"waiting": "waiting", "running": "running", "ended": "ended, not yet shown"}[tail.stage(job.job_id)]


def _fired(hook: KillBotOn) -> Callable[[], bool]:
    return lambda: hook.fired

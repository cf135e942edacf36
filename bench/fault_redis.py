"""Bench parts 1 and 2: Redis restarted mid-run, with and without its append-only file.

Each round, three users queue jobs (two each, to one worker); the moment the first of them starts, Redis is
stopped (SIGTERM, so an append-only file is complete), kept down a second and started again on the same port
and data directory. With the file every job must be delivered exactly once. Without it the queue forgets every
job in flight, and every user must still be told, once: their result (a job a worker was running finishes and
reports to the new Redis) or "Job lost"; nobody is left at "(Waiting to start)".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.fault_watch import (
    BenchError,
    Fate,
    Job,
    Row,
    Seen,
    StreamTail,
    all_ended,
    poll,
    seen,
    settle,
    submit,
    unshown,
    violations,
    wait_for_fleet,
)
from tests.e2e.stack import Stack

QUEUE_ENV = {
    "IMAGINE_CONCURRENT_LIMIT": "2",
    "IMAGINE_QUEUED_LIMIT": "10",
    "IMAGINE_QUEUE_CAP": "200",
    "IMAGINE_HEARTBEAT_S": "2",
    "IMAGINE_MAINTENANCE_S": "1",
}
# The bot's reconciler sweeps every 60 s by default; 5 s here, so a lost job is told within seconds. Not 1 s: a
# job still running after the restart must send an event between two sweeps (a step can take a second or two on
# a busy machine), or it is called lost (docs/reliability.md).
RECONCILE_S = 5
DOWN_S = 1.0
ROUND_TIMEOUT_S = 120.0


@dataclass
class Restart:
    """One restart: how many of the round's jobs were not yet shown when Redis went down, and how many ran."""

    in_flight: int
    running: int


def stack(persist: bool, redis_dir: Path | None) -> Stack:
    """A stack with one demo-model worker and a Redis that keeps an append-only file in ``redis_dir`` (with
    ``persist``) or nothing at all (not started)."""
    return Stack(
        persist=persist,
        redis_dir=redis_dir if persist else None,
        queue_env=QUEUE_ENV,
        bot_env={"IMAGINE_RECONCILE_INTERVAL_S": str(RECONCILE_S)},
    )


def restarts(stack: Stack, count: int, persist: bool, jobs_each: int = 2) -> Row:
    """Restart Redis ``count`` times under running and waiting jobs; count what each user saw."""
    tail = StreamTail(stack)
    users = [stack.alice, stack.bob, stack.carol]
    tag = "kept" if persist else "gone"
    jobs: list[Job] = []
    restarted: list[Restart] = []
    running_at_restart: list[Job] = []
    unsettled_rounds = 0
    for r in range(count):
        wait_for_fleet(stack)  # without persistence the worker's card is back within a beat of the restart
        batch = [submit(stack, u, f"{tag} round {r} job {n} of {u.username}") for n in range(jobs_each) for u in users]
        jobs += batch
        if tail.wait_for(tail.started({j.job_id for j in batch}), 60) is None:
            raise BenchError(f"round {r}: no job started within 60 s")
        running = [j for j in batch if tail.stage(j.job_id) == "running"]
        in_flight = unshown(stack, batch)
        stack.restart_redis(down_s=DOWN_S)
        restarted.append(Restart(in_flight, len(running)))
        running_at_restart += running
        if not poll(stack, all_ended(stack, batch), ROUND_TIMEOUT_S):
            unsettled_rounds += 1
    # Two more sweeps and a round trip: a second answer to any job (a lost one delivered after all) would show.
    settle(stack, 2 * RECONCILE_S + 1)
    users_saw = seen(stack, jobs)
    done = (
        f"{count} restarts (SIGTERM, {DOWN_S:.0f} s down), each as the first of 3 users × {jobs_each} jobs started; "
        f"not yet shown at each restart: {', '.join(str(r.in_flight) for r in restarted)} "
        f"(running: {', '.join(str(r.running) for r in restarted)})"
    )
    notes = [f"Discord rule violations: {violations(stack)}."]
    if unsettled_rounds:
        notes.append(f"Rounds not all ended {ROUND_TIMEOUT_S:.0f} s after their restart: {unsettled_rounds}.")
    title = f"Redis restart ×{count}, {'with' if persist else 'without'} persistence"
    if persist:
        return _with_persistence(title, users_saw, done, notes)
    return _without_persistence(title, users_saw, [j.job_id for j in running_at_restart], done, notes)


def _with_persistence(title: str, users_saw: dict[str, Seen], done: str, notes: list[str]) -> Row:
    jobs = users_saw.values()
    once = sum(s.posts == 1 and not s.lost for s in jobs)
    duplicates = sum(s.posts > 1 for s in jobs)
    missing = sum(s.posts == 0 for s in jobs)
    told_lost = sum(s.lost > 0 for s in jobs)
    counts = f"{len(jobs)} jobs: {once} delivered once, {duplicates} duplicates, {missing} missing"
    if told_lost:
        counts += f", {told_lost} told lost"
    return Row(
        part=title,
        done=done,
        counts=counts,
        promise="every job delivered exactly once",
        held=once == len(jobs),
        notes=notes,
    )


def _without_persistence(
    title: str, users_saw: dict[str, Seen], running_at_restart: list[str], done: str, notes: list[str]
) -> Row:
    jobs = users_saw.values()
    delivered = sum(s.posts == 1 and not s.lost for s in jobs)
    told = sum(s.lost == 1 and not s.posts for s in jobs)
    twice = sum(s.posts + s.lost > 1 for s in jobs)
    stuck = sum(s.fate in (Fate.WAITING, Fate.RUNNING) for s in jobs)
    other = len(jobs) - delivered - told - twice - stuck
    counts = f"{len(jobs)} jobs: {told} told lost, {delivered} delivered, {stuck} stuck, {twice} answered twice"
    if other:
        counts += f", {other} ended otherwise"
    ran = [users_saw[i] for i in running_at_restart]
    notes.insert(
        0,
        f"Jobs a worker was running at a restart: {len(ran)}; of them delivered {sum(s.posts == 1 for s in ran)}, "
        f"told lost {sum(s.lost > 0 for s in ran)}. The bot's reconciler ran every {RECONCILE_S} s "
        f"(IMAGINE_RECONCILE_INTERVAL_S; default 60 s).",
    )
    return Row(
        part=title,
        done=done,
        counts=counts,
        promise='every user told, once (result or "Job lost"); none left waiting',
        held=stuck == 0 and twice == 0 and other == 0,
        notes=notes,
    )

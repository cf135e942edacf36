"""Finding jobs the queue lost, and telling their users once.

A Redis restarted without persistence forgets every job in flight: no worker will run them and no event will
ever come, so their messages would say "Waiting to start" forever. The reconciler walks the pending jobs
(``PendingJobs``: the Redis index and this process's memory) at start and every ``interval_s``. A job that Redis
no longer knows at all (no spec, no RQ job, no outcome) in two sweeps in a row, with no event of it in between,
is lost, and its message is edited to say so. A worker still running a lost job keeps sending its progress (and
ends by writing its outcome): such a job is not lost, and its result will come.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import redis.asyncio

from bot import keys
from bot.blocking import BlockingExecutor
from bot.jobs import JobRecord, JobRecords
from bot.pending import PendingJobs
from worker.queue import JobQueue

log = logging.getLogger(__name__)


class Reconciler:
    """Sweeps the pending jobs for lost ones."""

    def __init__(
        self,
        *,
        pending: PendingJobs,
        records: JobRecords,
        connection: redis.asyncio.Redis,
        queue: JobQueue,
        blocking: BlockingExecutor,
        tell_lost: Callable[[JobRecord], Awaitable[None]],
        interval_s: float,
    ):
        self.pending = pending
        self.records = records
        self.connection = connection  # the bot's own keys: the delivered marks
        self.queue = queue
        self.blocking = blocking
        self.tell_lost = tell_lost  # edits the job's message to say it was lost, and marks it delivered
        self.interval_s = interval_s
        self._missing: set[str] = set()  # unknown to Redis at the last sweep
        self._last_sweep = float("-inf")  # when it began (monotonic)
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Sweep now and every ``interval_s`` until ``stop()``; errors (Redis away) wait for the next sweep."""
        while not self._stopping.is_set():
            try:
                await self.sweep()
            except Exception:
                log.exception("reconcile: sweep failed; trying again in %.0fs", self.interval_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)

    def stop(self) -> None:
        """Ask the loop to end."""
        self._stopping.set()

    async def sweep(self) -> list[str]:
        """One pass over the pending jobs; returns the ids of those found lost (and told) in it."""
        lost = []
        missing = set()
        began = time.monotonic()
        for job_id in await self.pending.job_ids():
            if await self.connection.exists(keys.delivered(job_id)):
                await self.pending.done(job_id)  # shown, and the index was not yet told
                continue
            if await self.blocking.run(self.queue.known, job_id):
                continue
            if job_id not in self._missing or self.pending.seen_since(job_id, self._last_sweep):
                missing.add(job_id)  # look again next sweep
                continue
            record = self.pending.remembered(job_id) or await self.records.load(job_id)
            if record is not None:
                log.warning("job %s: lost by the queue (Redis restarted without it); telling its user", job_id)
                try:
                    await self.tell_lost(record)
                except Exception:
                    log.exception("job %s: could not tell its user it was lost; trying again next sweep", job_id)
                    missing.add(job_id)
                    continue
                lost.append(job_id)
            await self.pending.done(job_id)
        self._missing = missing
        self._last_sweep = began
        return lost

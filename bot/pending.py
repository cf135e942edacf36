"""The jobs the bot still owes an answer: admitted, their end not yet shown.

Kept twice: in Redis (``keys.PENDING``, for a restarted bot) and in this process's memory, with each job's record
(for a Redis that restarted without persistence and forgot the index, the records and the jobs themselves). The
reconciler (bot/reconcile.py) walks both to find jobs the queue lost.
"""

from __future__ import annotations

import time

import redis.asyncio

from bot import keys
from bot.jobs import JobRecord


class PendingJobs:
    """The index of pending jobs, in Redis and in memory."""

    def __init__(self, connection: redis.asyncio.Redis):
        self.connection = connection
        self._records: dict[str, JobRecord] = {}  # accepted or handled by this process; the same objects as theirs
        self._seen: dict[str, float] = {}  # job id → when this process last had an event of it (monotonic)

    async def add(self, record: JobRecord) -> None:
        """Note an accepted job (or one this process meets for the first time); its first time in Redis is kept."""
        self._records[record.job_id] = record
        await self.connection.zadd(keys.PENDING, {record.job_id: time.time()}, nx=True)

    def saw(self, job_id: str) -> None:
        """An event of a pending job arrived: something (a worker) still has it."""
        if job_id in self._records:
            self._seen[job_id] = time.monotonic()

    def seen_since(self, job_id: str, moment: float) -> bool:
        """Whether an event of the job arrived after ``moment`` (``time.monotonic()``)."""
        return self._seen.get(job_id, float("-inf")) > moment

    def knows(self, job_id: str) -> bool:
        """Whether this process has the job in memory."""
        return job_id in self._records

    async def done(self, job_id: str) -> None:
        """The job's end was shown (or it was found lost): nothing more is owed."""
        self._records.pop(job_id, None)
        self._seen.pop(job_id, None)
        await self.connection.zrem(keys.PENDING, job_id)

    def remembered(self, job_id: str) -> JobRecord | None:
        """The record this process holds for the job, if any."""
        return self._records.get(job_id)

    async def job_ids(self) -> list[str]:
        """Every pending job: those in memory, then those only in Redis (older entries than RECORD_TTL_S are
        dropped on the way: their records have expired, so there is no one to tell)."""
        await self.connection.zremrangebyscore(keys.PENDING, "-inf", time.time() - keys.RECORD_TTL_S)
        stored = await self.connection.zrange(keys.PENDING, 0, -1)
        ids = [raw.decode() if isinstance(raw, bytes) else str(raw) for raw in stored]
        return list(self._records) + [job_id for job_id in ids if job_id not in self._records]

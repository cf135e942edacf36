"""Per-user and global admission limits, checked atomically when a job is enqueued.

Behaviour (Midjourney-like), with the defaults concurrent_limit=3, queued_limit=10:

- A user may have ``concurrent_limit + queued_limit`` jobs in flight (running or waiting). The next
  enqueue is rejected with a user-facing reason; so is any enqueue once ``queue_cap`` jobs are in flight
  over all users ("Queue full").
- Of a user's admitted jobs at most ``concurrent_limit`` are released to the workers at once (RQ's
  RateLimit, see worker.queue); the others wait, keep their order, and have a queue position.

The admission ledger is two sorted sets (keys.user_jobs, keys.INFLIGHT) scored by a deadline. A job leaves
them when it ends (done/failed/cancelled, called by the worker or the canceller), when a later admission
finds its RQ job ended (a worker died before releasing), or when its deadline passes (safety net).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from worker import keys

if TYPE_CHECKING:
    import redis

# KEYS: user set, global set. ARGV: job id, now, deadline, per-user max, queue cap, RQ job key prefix.
_ADMIT = """
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local status = redis.call('HGET', ARGV[6] .. id, 'status')
    if status == 'finished' or status == 'failed' or status == 'canceled' or status == 'stopped' then
        redis.call('ZREM', KEYS[1], id)
        redis.call('ZREM', KEYS[2], id)
    end
end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
    return 'ok'
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then
    return 'queue_full'
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
    return 'user_limit'
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 'ok'
"""

RQ_JOB_PREFIX = "rq:job:"  # rq.job.Job.redis_job_namespace_prefix (not imported: keep this module tiny)


class Rejection(StrEnum):
    """Why an enqueue was refused."""

    USER_LIMIT = "user_limit"
    QUEUE_FULL = "queue_full"


class LimitError(Exception):
    """An enqueue refused by a limit; ``message`` is safe to show the user."""

    def __init__(self, reason: Rejection, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Limits:
    """The numbers behind admission (see the module docstring)."""

    concurrent: int = 3
    queued: int = 10
    queue_cap: int = 500
    slot_ttl_s: int = 6 * 3600

    @property
    def per_user(self) -> int:
        """Jobs one user may have in flight: running plus waiting."""
        return self.concurrent + self.queued


class Admission:
    """The ledger of admitted, unfinished jobs."""

    def __init__(self, connection: redis.Redis, limits: Limits):
        self.connection = connection
        self.limits = limits
        self._admit = connection.register_script(_ADMIT)

    def admit(self, user_id: int, job_id: str) -> None:
        """Take a slot for the job, or raise LimitError. Admitting the same job twice is harmless."""
        now = time.time()
        args: list[str | float] = [
            job_id,
            now,
            now + self.limits.slot_ttl_s,
            self.limits.per_user,
            self.limits.queue_cap,
            RQ_JOB_PREFIX,
        ]
        verdict = self._admit(keys=[keys.user_jobs(user_id), keys.INFLIGHT], args=args)
        verdict = verdict.decode() if isinstance(verdict, bytes) else verdict
        if verdict == Rejection.QUEUE_FULL:
            raise LimitError(Rejection.QUEUE_FULL, "Queue full: too many jobs are waiting. Please try again later.")
        if verdict == Rejection.USER_LIMIT:
            raise LimitError(
                Rejection.USER_LIMIT,
                f"You already have {self.limits.per_user} jobs running or queued "
                f"({self.limits.concurrent} at once, {self.limits.queued} waiting). "
                "Wait for one to finish or cancel one.",
            )

    def release(self, user_id: int, job_id: str) -> None:
        """Give back the job's slot (on done, failed or cancelled). Releasing twice is harmless."""
        with self.connection.pipeline() as pipe:
            pipe.zrem(keys.user_jobs(user_id), job_id)
            pipe.zrem(keys.INFLIGHT, job_id)
            pipe.execute()

    def in_flight(self, user_id: int | None = None) -> int:
        """Admitted, unfinished jobs of one user, or of everyone."""
        key = keys.INFLIGHT if user_id is None else keys.user_jobs(user_id)
        return int(self.connection.zcount(key, time.time(), "+inf"))

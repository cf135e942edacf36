"""Lost queued jobs: put back jobs that left their queue list but never reached a worker's registry.

A worker serving two queues takes a job with BLPOP, then records it in RQ's StartedJobRegistry a few
milliseconds later. Killed in between, it leaves the job's RQ status "queued" while the job is on no list:
RQ's own cleanup never sees it (it is neither started nor in an intermediate queue), and the user's
concurrency slot would stay taken. Each worker's maintenance runs ``LostJobs.sweep``: an admitted job seen
"queued" but on no list at two sweeps in a row is pushed back to the front of its queue, once (a lock key).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.queue import Queue

from worker import keys

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

# KEYS: RQ job hash, queue list, intermediate list, lock. ARGV: job id, lock ttl.
_REQUEUE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return 0 end
if redis.call('LPOS', KEYS[2], ARGV[1]) or redis.call('LPOS', KEYS[3], ARGV[1]) then return 0 end
if not redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[1])
return 1
"""

LOCK_TTL_S = 600


class LostJobs:
    """Finds and re-queues lost queued jobs; keep one per worker (it remembers the previous sweep)."""

    def __init__(self, connection: redis.Redis):
        self.connection = connection
        self._requeue = connection.register_script(_REQUEUE)
        self.suspects: set[str] = set()

    def sweep(self) -> list[str]:
        """One pass; returns the ids pushed back onto their queues."""
        job_ids = [j.decode() if isinstance(j, bytes) else str(j) for j in self.connection.zrange(keys.INFLIGHT, 0, -1)]
        with self.connection.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hmget(Job.key_for(job_id), "status", "origin")
            fields = pipe.execute()
        queued = {j: f[1].decode() for j, f in zip(job_ids, fields, strict=True) if f[0] == b"queued" and f[1]}
        with self.connection.pipeline(transaction=False) as pipe:
            for job_id, origin in queued.items():
                pipe.lpos(Queue.redis_queue_namespace_prefix + origin, job_id)
            positions = pipe.execute()
        missing = {j for j, pos in zip(queued, positions, strict=True) if pos is None}
        confirmed, self.suspects = missing & self.suspects, missing - self.suspects
        requeued = []
        for job_id in sorted(confirmed):
            queue_key = Queue.redis_queue_namespace_prefix + queued[job_id]
            lists = [Job.key_for(job_id), queue_key, IntermediateQueue.get_intermediate_queue_key(queue_key)]
            if self._requeue(keys=[*lists, keys.requeued(job_id)], args=[job_id, LOCK_TTL_S]):
                log.warning("job %s: was taken from %s by a worker that died; queued again", job_id, queued[job_id])
                requeued.append(job_id)
        return requeued

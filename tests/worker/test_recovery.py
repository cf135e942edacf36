"""Jobs lost between a worker's dequeue and its start are queued again."""

from __future__ import annotations

import redis

from tests.worker.helpers import drain, make_spec
from worker import keys
from worker.events import EventLog
from worker.queue import JobQueue, rq_queue
from worker.recovery import LostJobs
from worker.settings import QueueSettings
from worker.spec import Mode


def test_job_popped_by_a_dead_worker_is_queued_again(settings: QueueSettings, connection: redis.Redis) -> None:
    """A queued job that vanished from its list (worker died right after BLPOP) is re-queued once, then runs."""
    queue = JobQueue(connection, settings)
    lost, fine = make_spec(user_id=1), make_spec(user_id=2)
    queue.enqueue(lost)
    queue.enqueue(fine)
    fast = rq_queue(connection, "fake", Mode.FAST)
    assert connection.lpop(fast.key) == lost.id.encode()  # taken, then the worker died

    sweeper, other = LostJobs(connection), LostJobs(connection)
    assert sweeper.sweep() == []  # first sight: could be a worker about to start it
    assert other.sweep() == []
    assert sweeper.sweep() == [lost.id]
    assert other.sweep() == []  # another worker's sweep does not push it twice
    assert fast.get_job_ids() == [lost.id, fine.id]
    assert connection.exists(keys.requeued(lost.id))

    drain(settings)
    log = EventLog(connection)
    assert log.outcome(lost.id)["status"] == "done" and log.outcome(fine.id)["status"] == "done"
    assert sweeper.sweep() == [] and sweeper.sweep() == []

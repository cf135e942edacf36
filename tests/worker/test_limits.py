"""Per-user and global limits at enqueue, and slot release."""

from __future__ import annotations

import threading
import time

import redis
from rq.rate_limit import RateLimitRegistry

from tests.worker.helpers import drain, make_spec
from worker import keys
from worker.events import EventLog
from worker.limits import Admission, Limits
from worker.queue import EnqueueError, JobQueue, JobState
from worker.settings import QueueSettings


def _enqueue_from_threads(queue: JobQueue, specs: list) -> tuple[list[str], list[str]]:
    accepted, refused = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(len(specs))

    def one(spec) -> None:
        barrier.wait()
        try:
            queue.enqueue(spec)
            outcome = accepted
        except EnqueueError as exc:
            outcome = refused
            spec = exc.reason
        with lock:
            outcome.append(spec if isinstance(spec, str) else spec.id)

    threads = [threading.Thread(target=one, args=(s,)) for s in specs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return accepted, refused


def test_user_limit_is_exact_under_concurrent_enqueues(settings: QueueSettings, connection: redis.Redis) -> None:
    """Forty simultaneous enqueues by one user admit exactly concurrent + queued (3 + 10) jobs."""
    queue = JobQueue(connection, settings)
    accepted, refused = _enqueue_from_threads(queue, [make_spec(seed=i) for i in range(40)])
    assert len(accepted) == 13
    assert refused == ["user_limit"] * 27
    assert queue.admission.in_flight(1) == 13
    # RQ's per-user RateLimit releases three to the workers; ten wait in order with a position.
    registry = RateLimitRegistry(keys.user_rate_limit(1), connection)
    assert registry.get_allowed_job_count() == 3
    waiting = registry.get_rate_limited_job_ids()
    assert len(waiting) == 10
    assert [queue.position(job_id).ahead for job_id in waiting] == list(range(10))
    assert {queue.position(job_id).state for job_id in waiting} == {JobState.WAITING}


def test_global_cap_says_queue_full(settings: QueueSettings, connection: redis.Redis) -> None:
    """Past the global cap every enqueue is refused with "Queue full", exactly at the cap under contention."""
    queue = JobQueue(connection, settings.model_copy(update={"queue_cap": 7}))
    accepted, refused = _enqueue_from_threads(queue, [make_spec(user_id=i) for i in range(20)])
    assert len(accepted) == 7 and refused == ["queue_full"] * 13
    with __import__("pytest").raises(EnqueueError, match="Queue full"):
        queue.enqueue(make_spec(user_id=99))


def test_slots_free_on_finish_and_waiting_jobs_start(settings: QueueSettings, connection: redis.Redis) -> None:
    """Finished jobs give their slots back, so a user's waiting jobs run and new ones are admitted."""
    queue = JobQueue(connection, settings)
    specs = [make_spec(seed=i) for i in range(13)]
    for spec in specs:
        queue.enqueue(spec)
    assert drain(settings) == 13
    log = EventLog(connection)
    assert all(log.outcome(s.id)["status"] == "done" for s in specs)
    assert queue.admission.in_flight(1) == 0 and queue.admission.in_flight() == 0
    assert RateLimitRegistry(keys.user_rate_limit(1), connection).get_allowed_job_count() == 0
    queue.enqueue(make_spec(seed=99))  # admitted again


def test_slot_deadline_is_a_safety_net(connection: redis.Redis) -> None:
    """A slot nobody released (its job lost) is freed once its deadline passes."""
    admission = Admission(connection, Limits(concurrent=1, queued=0, slot_ttl_s=1))
    admission.admit(5, "a" * 32)
    try:
        admission.admit(5, "b" * 32)
        raise AssertionError("second job admitted over the limit")
    except Exception as exc:
        assert getattr(exc, "reason", None) == "user_limit"
    time.sleep(1.1)
    admission.admit(5, "b" * 32)
    assert admission.in_flight(5) == 1

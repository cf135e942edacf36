"""Cancelling queued, waiting and running jobs."""

from __future__ import annotations

import threading

import redis

from tests.worker import fakes
from tests.worker.helpers import drain, make_spec, types, wait_for
from worker.events import EventLog, EventType
from worker.queue import JobQueue, JobState
from worker.settings import QueueSettings


def test_cancel_queued_job(settings: QueueSettings, connection: redis.Redis) -> None:
    """A queued or waiting job cancelled never runs, reports cancelled once, and frees its slot."""
    queue = JobQueue(connection, settings)
    specs = [make_spec(seed=i) for i in range(5)]  # three queued, two waiting on the user's limit
    for spec in specs:
        queue.enqueue(spec)
    assert queue.position(specs[4].id).state is JobState.WAITING
    assert queue.cancel(specs[0].id) is JobState.CANCELLED
    assert queue.cancel(specs[4].id, user_id=1) is JobState.CANCELLED
    assert queue.cancel(specs[4].id) is JobState.CANCELLED  # again: harmless
    assert queue.admission.in_flight(1) == 3
    engine = fakes.FakeEngine()
    drain(settings, engine=engine)
    assert engine.runs == [s.id for s in specs[1:4]]
    log = EventLog(connection)
    for spec in (specs[0], specs[4]):
        assert types(log.history(spec.id)) == ["queued", "cancelled"]
    assert queue.position(specs[0].id).state is JobState.CANCELLED
    assert queue.admission.in_flight(1) == 0


def test_cancel_running_job(settings: QueueSettings, connection: redis.Redis) -> None:
    """A running job stops at the next step after cancel and reports cancelled, not done."""
    queue = JobQueue(connection, settings)
    spec = make_spec(steps=200)
    queue.enqueue(spec)
    log = EventLog(connection)

    def canceller() -> None:
        wait_for(lambda: any(e.type is EventType.PROGRESS for e in log.history(spec.id)))
        assert queue.cancel(spec.id) is JobState.RUNNING

    thread = threading.Thread(target=canceller)
    thread.start()
    engine = fakes.FakeEngine()
    engine.step_s = 0.02  # 4 s if never cancelled
    drain(settings, engine=engine)  # the worker runs here, in the main thread (signal-based timeouts)
    thread.join()
    events = log.history(spec.id)
    assert events[-1].type is EventType.CANCELLED
    assert EventType.DONE not in {e.type for e in events}
    assert max(e.data.get("percent", 0) for e in events) < 100
    assert queue.position(spec.id).state is JobState.CANCELLED
    assert queue.admission.in_flight(1) == 0


def test_only_the_owner_can_cancel(settings: QueueSettings, connection: redis.Redis) -> None:
    """Cancelling someone else's job is refused."""
    queue = JobQueue(connection, settings)
    spec = make_spec(user_id=1)
    queue.enqueue(spec)
    try:
        queue.cancel(spec.id, user_id=2)
        raise AssertionError("cancel by another user accepted")
    except Exception as exc:
        assert getattr(exc, "reason", None) == "not_owner"
    assert queue.position(spec.id).state is JobState.QUEUED

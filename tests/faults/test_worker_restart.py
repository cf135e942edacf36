"""A worker killed while idle and restarted at once under the same --name (as a supervisor does) stays up."""

from __future__ import annotations

import os
import signal

import redis
from rq import Worker

from tests.worker.conftest import start_worker, stop_worker
from tests.worker.helpers import make_spec, wait_for
from worker.events import EventLog
from worker.queue import JobQueue
from worker.settings import QueueSettings


def _registered(connection: redis.Redis) -> int:
    return Worker.count(connection=connection)


def test_restart_under_the_same_name_after_sigkill(settings: QueueSettings, connection: redis.Redis) -> None:
    """SIGKILL an idle ``imagine worker --name w`` and start it again at once: the new one keeps running (RQ still
    holds the dead one's registration for a minute, so the names must differ) and takes the next job."""
    settings = settings.model_copy(update={"engine": "tests.worker.fakes:FakeEngine"})
    first = start_worker(settings, "--name", "w")
    try:
        wait_for(lambda: _registered(connection) == 1, timeout=30)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        stop_worker(first)
    second = start_worker(settings, "--name", "w")
    try:
        spec = make_spec()
        JobQueue(connection, settings).enqueue(spec)
        outcome = wait_for(lambda: EventLog(connection).outcome(spec.id) or second.poll() is not None, timeout=30)
        assert second.poll() is None, "the restarted worker exited"
        assert outcome["status"] == "done", outcome
    finally:
        output = stop_worker(second)
    assert "There exists an active worker named" not in output

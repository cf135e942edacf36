"""A worker's presence in the fleet: its model card published while it lives, gone when it dies or exits.

``imagine worker`` publishes its engine's card once the model has loaded, then a thread renews it every
``ttl_s / 3`` seconds, like the job heartbeat in worker.process, whether the worker is idle or deep in a job. A
worker that dies (SIGKILL, OOM killer, lost machine) drops out of the fleet ``ttl_s`` after its last beat; one that
exits cleanly withdraws at once. While Redis is away the beats fail (logged) and resume when it is back. Keys
(``keys.FLEET``, ``keys.worker_card``) are described in worker/keys.py; worker/fleet.py reads them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING

import redis.exceptions

from worker import keys

if TYPE_CHECKING:
    import redis

    from worker.cards import ModelCard

log = logging.getLogger(__name__)


def new_worker_id(name: str | None = None) -> str:
    """A fleet id unique to this process: ``<name or host>:<pid>:<random>``."""
    return f"{name or socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Presence:
    """Publishes one worker's card and keeps it alive; use as a context manager around the worker's life."""

    def __init__(self, connection: redis.Redis, card: ModelCard, worker_id: str, ttl_s: float):
        self.connection = connection
        self.card = card
        self.worker_id = worker_id
        self.ttl_s = ttl_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(self) -> None:
        """One beat: (re)write the card with its TTL and this worker's fleet entry, and trim lapsed entries."""
        now = time.time()
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.set(keys.worker_card(self.worker_id), self.card.model_dump_json(), px=int(self.ttl_s * 1000))
            pipe.zadd(keys.FLEET, {self.worker_id: now + self.ttl_s})
            pipe.zremrangebyscore(keys.FLEET, "-inf", now)
            pipe.execute()

    def withdraw(self) -> None:
        """Leave the fleet now (clean exit); a Redis error leaves the entries to lapse instead."""
        try:
            with self.connection.pipeline(transaction=True) as pipe:
                pipe.zrem(keys.FLEET, self.worker_id)
                pipe.delete(keys.worker_card(self.worker_id))
                pipe.execute()
        except redis.exceptions.RedisError as exc:
            log.warning("worker: could not leave the fleet (%s); its entry lapses in %.0f s", exc, self.ttl_s)

    def start(self) -> None:
        """Publish now and keep publishing from a daemon thread until ``stop``."""
        self._beat()
        self._thread = threading.Thread(target=self._run, name="fleet-heartbeat", daemon=True)
        self._thread.start()
        log.info("worker %s: serving model %s in the fleet", self.worker_id, self.card.name)

    def stop(self) -> None:
        """Stop the beats and withdraw."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.withdraw()

    def __enter__(self) -> Presence:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(max(0.1, self.ttl_s / 3)):
            self._beat()

    def _beat(self) -> None:
        try:
            self.publish()
        except redis.exceptions.RedisError as exc:
            log.warning("worker %s: fleet heartbeat failed: %s", self.worker_id, exc)

"""Nothing in Redis is pickled: every stored value is JSON, text, numbers, zlib-compressed JSON or an image."""

from __future__ import annotations

import json
import pickle
import zlib

import redis

from tests.worker.helpers import drain, make_spec
from worker.queue import JobQueue
from worker.settings import QueueSettings
from worker.spec import JobKind, Parent, Strength


def _values(connection: redis.Redis, key: bytes) -> list[bytes]:
    kind = connection.type(key).decode()
    if kind == "string":
        return [connection.get(key)]
    if kind == "hash":
        return list(connection.hgetall(key).values())
    if kind == "list":
        return connection.lrange(key, 0, -1)
    if kind == "set":
        return list(connection.smembers(key))
    if kind == "zset":
        return [m for m, _ in connection.zrange(key, 0, -1, withscores=True)]
    if kind == "stream":
        return [v for _, fields in connection.xrange(key) for v in fields.values()]
    raise AssertionError(f"unexpected type {kind} for {key!r}")


def _is_safe(value: bytes) -> bool:
    if value.startswith(b"\x89PNG"):
        return True
    if value[:1] == b"\x78":  # RQ zlib-compresses job data
        try:
            json.loads(zlib.decompress(value))
            return True
        except (zlib.error, ValueError):
            return False
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not value.startswith(b"\x80")


def test_no_pickled_values_anywhere(settings: QueueSettings, connection: redis.Redis) -> None:
    """After jobs of every kind and outcome, every key in Redis holds JSON-safe data and nothing unpickles."""
    queue = JobQueue(connection, settings.model_copy(update={"concurrent_limit": 1}))
    parent = make_spec(seed=1)
    queue.enqueue(parent)
    queue.enqueue(make_spec("crash", seed=2))
    waiting = make_spec(seed=3)
    queue.enqueue(waiting)
    queue.cancel(waiting.id)
    drain(settings)
    queue.enqueue(
        make_spec(kind=JobKind.UPSCALE, parent=Parent(job_id=parent.id, index=2), strength=Strength.SUBTLE, seed=4)
    )
    queue.enqueue(make_spec(seed=5, user_id=2))
    drain(settings)

    keys = list(connection.scan_iter(count=1000))
    assert len(keys) > 20
    for key in keys:
        for value in _values(connection, key):
            assert _is_safe(value), (key, value[:40])
            try:
                pickle.loads(value)
            except Exception:
                continue
            # Plain ASCII digits can "unpickle" as protocol-0 junk only if they end in '.', which ours never do.
            raise AssertionError(f"{key!r} holds a value that unpickles: {value[:40]!r}")

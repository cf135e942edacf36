"""Follow-up jobs read their source from the result store, or regenerate it once it has expired."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import redis
from PIL import Image

from tests.worker import fakes
from tests.worker.helpers import drain, make_spec, wait_for
from worker import keys
from worker.engine import ErrorCode
from worker.events import EventLog
from worker.queue import JobQueue
from worker.settings import QueueSettings, StoreKind
from worker.spec import JobKind, Parent, Strength
from worker.store import DirectoryStore, open_store, split_ref


def _first_pixel(store, reference: str) -> tuple[int, int, int]:
    return Image.open(io.BytesIO(store.get(*split_ref(reference)))).getpixel((0, 0))


def test_variation_uses_the_stored_source(settings: QueueSettings, connection: redis.Redis) -> None:
    """A variation starts from its parent's stored cell without re-running the parent."""
    queue = JobQueue(connection, settings)
    parent = make_spec(seed=7)
    queue.enqueue(parent)
    drain(settings)
    child = make_spec(kind=JobKind.VARIATION, parent=Parent(job_id=parent.id, index=3), strength=Strength.STRONG)
    queue.enqueue(child)
    engine = fakes.FakeEngine()
    drain(settings, engine=engine)
    assert engine.runs == [child.id]
    done = EventLog(connection).outcome(child.id)
    assert _first_pixel(open_store(settings, connection), done["files"][1]) == fakes.colour(7, 2)


def test_expired_source_is_regenerated_from_the_parent_spec(settings: QueueSettings, connection: redis.Redis) -> None:
    """When the parent's images have expired (TTL) but its spec is kept, the source is regenerated exactly."""
    short = settings.model_copy(update={"image_ttl_s": 1})
    queue = JobQueue(connection, short)
    parent = make_spec(seed=11)
    queue.enqueue(parent)
    drain(short)
    store = open_store(settings, connection)
    wait_for(lambda: store.get(parent.id, "4.png") is None, timeout=5)
    assert connection.exists(keys.spec(parent.id))

    child = make_spec(kind=JobKind.UPSCALE, parent=Parent(job_id=parent.id, index=4), strength=Strength.SUBTLE)
    queue.enqueue(child)
    engine = fakes.FakeEngine()
    drain(settings, engine=engine)
    assert engine.runs == [parent.id, child.id]  # the parent ran again to rebuild the source
    done = EventLog(connection).outcome(child.id)
    assert done["status"] == "done" and len(done["files"]) == 1
    assert _first_pixel(store, done["files"][0]) == fakes.colour(11, 3)
    assert store.get(parent.id, "4.png") is not None  # stored again for the next follow-up


def test_follow_up_fails_clearly_when_parent_is_gone(settings: QueueSettings, connection: redis.Redis) -> None:
    """With both the images and the spec of the parent gone, a follow-up fails with a clear reason, code expired."""
    queue = JobQueue(connection, settings)
    parent = make_spec()
    connection.set(keys.spec(parent.id), parent.to_json())  # a parent that never left images
    child = make_spec(kind=JobKind.VARIATION, strength=Strength.SUBTLE, parent=Parent(job_id=parent.id, index=1))
    queue.enqueue(child)
    connection.delete(keys.spec(parent.id))
    drain(settings)
    assert EventLog(connection).outcome(child.id) == {
        "status": "failed",
        "reason": "The original job has expired; run /imagine again.",
        "code": ErrorCode.EXPIRED,
    }


def test_reroll_needs_no_parent_image(settings: QueueSettings, connection: redis.Redis) -> None:
    """A reroll names its parent but starts from fresh noise: it runs even when the parent's images are gone."""
    parent = make_spec()
    connection.set(keys.spec(parent.id), parent.to_json())  # the spec is kept, its images are not
    child = make_spec(kind=JobKind.REROLL, parent=Parent(job_id=parent.id, index=1))
    JobQueue(connection, settings).enqueue(child)
    drain(settings)
    assert EventLog(connection).outcome(child.id)["status"] == "done"


def test_directory_store_expires_by_age(tmp_path: Path, settings: QueueSettings, connection: redis.Redis) -> None:
    """The directory backend serves files until they are older than the TTL, then purges them."""
    store = open_store(settings.model_copy(update={"store": StoreKind.DIRECTORY, "store_dir": tmp_path}), connection)
    assert isinstance(store, DirectoryStore)
    assert store.put("job1", "grid.png", b"\x89PNG data") == "job1/grid.png"
    assert store.get("job1", "grid.png") == b"\x89PNG data"
    old = time.time() - settings.image_ttl_s - 5
    os.utime(tmp_path / "job1" / "grid.png", (old, old))
    assert store.get("job1", "grid.png") is None
    assert store.purge() == 1 and not (tmp_path / "job1").exists()
    try:
        store.put("../etc", "passwd", b"")
        raise AssertionError("unsafe name accepted")
    except ValueError:
        pass

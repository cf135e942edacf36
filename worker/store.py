"""The result store: encoded images of finished jobs and previews, kept for a limited time.

Two backends behind one small interface: Redis (the default; keys.image, with a TTL) and a directory (for a
volume shared by compose services; files older than the TTL count as gone and are swept by ``purge``).
An image is addressed by (job id, name), e.g. ("3f2a…", "grid.png"); its reference "3f2a…/grid.png" travels
in events. Light: the bot imports it to read results.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from worker import keys
from worker.settings import QueueSettings, StoreKind

if TYPE_CHECKING:
    import redis

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ResultStore(Protocol):
    """Where job images live for ``ttl_s`` seconds after they are written."""

    ttl_s: int

    def put(self, job_id: str, name: str, data: bytes) -> str:
        """Store one encoded image; returns its reference ``job_id/name``."""
        ...

    def get(self, job_id: str, name: str) -> bytes | None:
        """The image's bytes, or None once it has expired (or never existed)."""
        ...


def ref(job_id: str, name: str) -> str:
    """The reference of an image, as carried in events; raises ValueError for unsafe names."""
    for part in (job_id, name):
        if not _NAME.match(part):
            raise ValueError(f"unsafe result name {part!r}")
    return f"{job_id}/{name}"


def split_ref(reference: str) -> tuple[str, str]:
    """(job id, name) of a reference made by ``ref``."""
    job_id, _, name = reference.partition("/")
    ref(job_id, name)
    return job_id, name


class RedisStore:
    """Images as Redis strings with an expiry (the default backend)."""

    def __init__(self, connection: redis.Redis, ttl_s: int):
        self.connection = connection
        self.ttl_s = ttl_s

    def put(self, job_id: str, name: str, data: bytes) -> str:
        reference = ref(job_id, name)
        self.connection.set(keys.image(job_id, name), data, ex=self.ttl_s)
        return reference

    def get(self, job_id: str, name: str) -> bytes | None:
        ref(job_id, name)
        data = self.connection.get(keys.image(job_id, name))
        # A client made with decode_responses would answer str; settings.redis() answers bytes, as RQ needs.
        return data.encode() if isinstance(data, str) else data


class DirectoryStore:
    """Images as files under ``root/<job id>/<name>``; a file's age (mtime) decides expiry."""

    def __init__(self, root: Path, ttl_s: int):
        self.root = Path(root)
        self.ttl_s = ttl_s

    def put(self, job_id: str, name: str, data: bytes) -> str:
        reference = ref(job_id, name)
        folder = self.root / job_id
        folder.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half an image.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, folder / name)
        return reference

    def get(self, job_id: str, name: str) -> bytes | None:
        ref(job_id, name)
        path = self.root / job_id / name
        try:
            if time.time() - path.stat().st_mtime > self.ttl_s:
                return None
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def purge(self) -> int:
        """Delete expired files (and emptied job folders); returns how many files went."""
        removed = 0
        cutoff = time.time() - self.ttl_s
        for folder in self.root.glob("*"):
            for path in folder.glob("*"):
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    removed += 1
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return removed


def open_store(settings: QueueSettings, connection: redis.Redis) -> ResultStore:
    """The store the settings choose."""
    if settings.store is StoreKind.DIRECTORY:
        return DirectoryStore(settings.store_dir, settings.image_ttl_s)
    return RedisStore(connection, settings.image_ttl_s)

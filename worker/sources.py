"""The source image of a follow-up job that starts from its parent's picture (variation, upscale).

Read from the result store; if the image has expired but the parent's spec is still kept, the parent is run
through the engine again (specs carry their seed, so the pixels are the same) and the image at the asked
index is taken, and the regenerated files are stored again for the next follow-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PIL import Image

from worker.engine import EngineError, EngineProtocol, ErrorCode
from worker.images import ImageInputError, open_image
from worker.queue import load_spec
from worker.spec import JobKind, JobSpec

if TYPE_CHECKING:
    import redis

    from worker.store import ResultStore

log = logging.getLogger(__name__)

# Kinds that start from the parent's image; a reroll names its parent too, but starts from fresh noise.
SOURCE_KINDS = frozenset({JobKind.VARIATION, JobKind.UPSCALE})

# A follow-up of a follow-up of ... each regeneration may need its own parent: stop somewhere.
MAX_DEPTH = 4


class SourceError(EngineError):
    """The source image cannot be had: ``code`` expired (or bad_input), ``message`` is safe to show the user."""


# The engine writes a cell as PNG, or WebP/JPEG when PNG would exceed Discord's upload limit.
CELL_EXTENSIONS = ("png", "webp", "jpg", "jpeg")


def _stored_cell(store: ResultStore, job_id: str, index: int) -> bytes | None:
    for ext in CELL_EXTENSIONS:
        if (data := store.get(job_id, f"{index}.{ext}")) is not None:
            return data
    return None


def load_source(
    spec: JobSpec,
    store: ResultStore,
    connection: redis.Redis,
    engine: EngineProtocol,
    should_cancel: Callable[[], bool] | None = None,
    depth: int = 0,
) -> Image.Image:
    """The parent image a follow-up starts from; raises SourceError when it is gone for good.

    Regenerating it runs the engine, which may raise Cancelled or EngineError as for any job.
    """
    parent = spec.parent
    if parent is None:
        raise ValueError(f"job {spec.id} is not a follow-up")
    data = _stored_cell(store, parent.job_id, parent.index)
    if data is not None:
        try:
            return open_image(data)  # checked before it is decoded, like any image handed to us
        except ImageInputError as exc:
            log.warning("job %s: source %s/%d refused: %s", spec.id, parent.job_id, parent.index, exc.problem)
            raise SourceError(ErrorCode.BAD_INPUT, exc.message) from exc
    parent_spec = load_spec(connection, parent.job_id)
    if parent_spec is None:
        raise SourceError(ErrorCode.EXPIRED, "The original job has expired; run /imagine again.")
    if depth >= MAX_DEPTH:
        reason = "The original image has expired and is too many steps away to rebuild; run /imagine again."
        raise SourceError(ErrorCode.EXPIRED, reason)
    log.info("job %s: source %s/%d expired, regenerating it from its spec", spec.id, parent.job_id, parent.index)
    grand_source = None
    if parent_spec.parent is not None:
        grand_source = load_source(parent_spec, store, connection, engine, should_cancel, depth + 1)
    result = engine.run(parent_spec, source=grand_source, should_cancel=should_cancel)
    for name, blob in result.files().items():
        store.put(parent.job_id, name, blob)
    if parent.index > len(result.images):
        raise SourceError(ErrorCode.BAD_INPUT, f"The original job has no image {parent.index}.")
    return result.images[parent.index - 1]

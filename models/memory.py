"""Out of accelerator memory: a batch is retried one image at a time, and what still does not fit becomes the worker's
``EngineError`` with code ``oom``; torch's out-of-memory error never reaches the worker (which does not know torch).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import torch

from worker.engine import OUT_OF_MEMORY, EngineError, ErrorCode

logger = logging.getLogger(__name__)


def batched(work: Callable[[list[int]], torch.Tensor], count: int, stage: str, width: int, height: int) -> torch.Tensor:
    """``work`` on all rows at once; on CUDA out-of-memory, retried one row at a time.

    ``stage`` names the job and step for the log ("job <id>: denoise"). Raises EngineError when even one
    row does not fit.
    """
    try:
        return work(list(range(count)))
    except torch.OutOfMemoryError:
        if count == 1:
            raise EngineError(ErrorCode.OOM, _message(width, height)) from None
        logger.warning("%s: out of memory for %s images at %sx%s; retrying one at a time", stage, count, width, height)
    free()
    try:
        return torch.cat([work([i]) for i in range(count)])
    except torch.OutOfMemoryError:
        free()
        raise EngineError(ErrorCode.OOM, _message(width, height)) from None


@contextlib.contextmanager
def out_of_memory_fails(job_id: str) -> Iterator[None]:
    """Out of memory where ``batched`` has no fallback (prompt encoding, MPS): EngineError code ``oom``."""
    try:
        yield
    except RuntimeError as exc:
        if not is_out_of_memory(exc):
            raise
        logger.warning("job %s: out of memory: %s", job_id, exc)
        free()
        raise EngineError(ErrorCode.OOM, OUT_OF_MEMORY) from exc


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is the accelerator running out of memory (MPS reports it as a plain RuntimeError)."""
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


def free() -> None:
    """Hand cached CUDA blocks back, so a retry starts from what is really in use."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _message(width: int, height: int) -> str:
    return f"out of GPU memory at {width}x{height}, even one image at a time; try a smaller size or lower --quality"

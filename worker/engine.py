"""The engine contract: what a worker needs from the engine it loads, and how the engine reports failure.

The worker loads an engine class by name (``IMAGINE_ENGINE``, "module:Class") and calls ``Class.load()`` once;
models/engine.py is the real one, tests and benchmarks bring their own. Whatever it is, it satisfies
``EngineProtocol`` (mypy checks each implementation against it) and raises only the exceptions declared here:

- ``Cancelled`` when ``should_cancel`` returned True (the job ends ``cancelled``);
- ``EngineError(code, message)`` for a job it cannot do: ``message`` is shown to the user as the ``failed``
  event's ``reason``, ``code`` (an ``ErrorCode``) travels beside it for programs (the bot) to act on.

Anything else that escapes ``run`` is a bug: the job fails with ``ErrorCode.INTERNAL`` and a generic reason, and
the traceback stays in the worker log. This module is light (the bot imports ``ErrorCode``): no torch, no engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PIL import Image

    from worker.cards import ModelCard
    from worker.spec import JobSpec


class ErrorCode(StrEnum):
    """Why a job failed, for programs: a ``failed`` event's ``code`` (its ``reason`` is for people)."""

    BAD_INPUT = "bad_input"  # the job asks for what no engine can draw (a size off the grid, no positive weight)
    UNSUPPORTED = "unsupported"  # this worker cannot do it (it runs another model); another worker might
    EXPIRED = "expired"  # a follow-up's source image is gone and cannot be rebuilt from its parent's spec
    OOM = "oom"  # out of accelerator memory, even after the engine's own fallback
    TIMEOUT = "timeout"  # ran past IMAGINE_JOB_TIMEOUT_S
    WORKER_DIED = "worker_died"  # the worker running it was killed and no retries were left
    INTERNAL = "internal"  # anything else: a bug, or Redis failing mid-job


# The reason for an out-of-memory that escaped the engine's one-image-at-a-time fallback.
OUT_OF_MEMORY = "The image was too large for the GPU's memory, even after falling back. Try a smaller size."


class EngineError(Exception):
    """A job the engine cannot do: ``code`` says why (for programs), ``message`` is safe to show the user."""

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Cancelled(Exception):
    """The job was cancelled (``should_cancel`` returned True) before or between denoising steps."""


@dataclass
class Progress:
    """One denoising step done: ``step`` of ``total``; ``preview`` every ``preview_every`` steps, else None."""

    step: int
    total: int
    preview: Image.Image | None = None


class ResultProtocol(Protocol):
    """A finished job as the worker reads it: the files to store and the facts the ``done`` event carries."""

    @property
    def images(self) -> list[Image.Image]:
        """The cells (one for an upscale); a follow-up whose source expired takes its source from these."""

    @property
    def seed(self) -> int: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def model(self) -> str: ...

    def files(self) -> dict[str, bytes]:
        """Encoded files by name: ``grid.png`` (grids only), ``1.png``…, stored under the job's id."""


class EngineProtocol(Protocol):
    """A loaded model that runs one job at a time; ``name``, ``device``, ``dtype`` and ``load_seconds`` are logged."""

    @property
    def name(self) -> str: ...

    @property
    def device(self) -> str: ...

    @property
    def dtype(self) -> str: ...

    @property
    def load_seconds(self) -> float: ...

    def card(self) -> ModelCard:
        """What the loaded model is and can do, as the worker publishes it (worker/presence.py) and the bot reads
        it (worker/fleet.py): the name jobs are routed by, aliases, sizes, default steps, guidance, capabilities.
        The worker serves the queues of ``card().name`` and refuses a spec naming another model."""

    def run(
        self,
        spec: JobSpec,
        source: Image.Image | None = None,
        progress: Callable[[Progress], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> ResultProtocol:
        """Make a job's images from ``spec`` (and ``source`` for a variation or upscale).

        Calls ``progress`` after each denoising step and polls ``should_cancel`` between steps. Raises Cancelled,
        or EngineError with a code and a user-facing message.
        """


class EngineClass(Protocol):
    """What ``IMAGINE_ENGINE`` names: a class whose ``load()`` loads the model once per process."""

    def load(self) -> EngineProtocol:
        """The loaded engine; may raise anything (the worker reports it and exits)."""

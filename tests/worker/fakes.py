"""Fake engines keeping the engine contract (worker/engine.py), importable by worker subprocesses (PYTHONPATH=repo).

Pictures are tiny solid colours derived from (seed, cell), so they are deterministic; a variation takes the
colour of its source, which lets a test see which source a job used. Prompts steer failures: "engine-error"
raises EngineError (bad_input), "fail:<code>" raises EngineError with that ErrorCode, "crash" raises RuntimeError,
"oom" raises what the real engine raises when memory runs out (EngineError, code oom).
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis
from PIL import Image

from worker.cards import ModelCard
from worker.engine import OUT_OF_MEMORY, Cancelled, EngineError, ErrorCode, Progress
from worker.spec import SD_GUIDANCE, JobKind, JobSpec

if TYPE_CHECKING:
    from worker.engine import EngineClass

SIZE = 16
LOADS_KEY = "test:engine-loads"
RUNS_KEY = "test:engine-runs"


@dataclass
class FakeResult:
    images: list[Image.Image]
    grid: Image.Image | None
    seed: int
    width: int
    height: int
    seconds: float
    model: str

    def files(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        if self.grid is not None:
            out["grid.png"] = _png(self.grid)
        for i, image in enumerate(self.images, start=1):
            out[f"{i}.png"] = _png(image)
        return out


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def colour(seed: int, cell: int) -> tuple[int, int, int]:
    """The colour of cell ``cell`` (0-based) of an imagine job with this seed."""
    digest = hashlib.sha256(f"{seed}:{cell}".encode()).digest()
    return digest[0], digest[1], digest[2]


def _redis() -> redis.Redis | None:
    url = os.environ.get("IMAGINE_REDIS_URL")
    return redis.Redis.from_url(url) if url else None


class FakeEngine:
    """Instant engine; counts loads and runs (in this process, and in Redis when IMAGINE_REDIS_URL is set)."""

    loads = 0
    step_s = 0.0
    name = "fake"
    device = "cpu"
    dtype = "fp32"
    family = "demo"
    base_resolution = 128
    size_step = 64
    load_seconds = 0.0
    preview_every = 2

    def __init__(self) -> None:
        self.runs: list[str] = []

    @classmethod
    def load(cls, settings: object = None) -> FakeEngine:
        cls.loads += 1
        if (client := _redis()) is not None:
            client.incr(LOADS_KEY)
        return cls()

    def card(self) -> ModelCard:
        return ModelCard(
            name=self.name,
            aliases=("f",),
            family=self.family,
            base_resolution=self.base_resolution,
            size_step=self.size_step,
            max_side=4 * self.base_resolution,
            default_steps=4,
            guidance=SD_GUIDANCE,
        )

    def run(
        self,
        spec: JobSpec,
        source: Image.Image | None = None,
        progress: Callable[[Progress], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> FakeResult:
        self.runs.append(spec.id)
        if (client := _redis()) is not None:
            client.rpush(RUNS_KEY, spec.id)
        if source is not None and spec.kind not in (JobKind.VARIATION, JobKind.UPSCALE):
            # as models.engine.Engine refuses it
            raise EngineError(ErrorCode.BAD_INPUT, f"{spec.kind} jobs take no source image")
        text = spec.prompt.text
        if text == "engine-error":
            raise EngineError(ErrorCode.BAD_INPUT, "That prompt cannot be drawn.")
        if text.startswith("fail:"):
            code = ErrorCode(text.removeprefix("fail:"))
            raise EngineError(code, f"The engine failed with {code}.")
        if text == "crash":
            raise RuntimeError("boom: internal detail that must not reach users")
        if text == "oom":
            raise EngineError(ErrorCode.OOM, OUT_OF_MEMORY)  # as models.engine.Engine reports running out of memory
        steps = spec.steps
        for step in range(1, steps + 1):
            if should_cancel is not None and should_cancel():
                raise Cancelled()
            time.sleep(self.step_s)
            if progress is not None:
                preview = Image.new("RGB", (4, 4)) if step % self.preview_every == 0 else None
                progress(Progress(step, steps, preview))
        if spec.kind is JobKind.UPSCALE:
            assert source is not None
            images = [source.resize((SIZE * 2, SIZE * 2))]
            grid = None
        elif spec.kind is JobKind.VARIATION:
            assert source is not None
            images = [Image.new("RGB", (SIZE, SIZE), source.convert("RGB").getpixel((0, 0))) for _ in range(4)]
            grid = Image.new("RGB", (SIZE * 2, SIZE * 2))
        else:
            images = [Image.new("RGB", (SIZE, SIZE), colour(spec.seed, i)) for i in range(4)]
            grid = Image.new("RGB", (SIZE * 2, SIZE * 2))
        return FakeResult(images, grid, spec.seed, SIZE, SIZE, 0.0, self.name)


class SleepEngine(FakeEngine):
    """A simulated engine: each step sleeps FAKE_STEP_S seconds (default 0.05)."""

    step_s = float(os.environ.get("FAKE_STEP_S", "0.05"))


class OtherEngine(FakeEngine):
    """The instant engine under another model name, for a fleet of two models."""

    name = "other"


if TYPE_CHECKING:
    # mypy holds the fakes to the contract the worker relies on (pyproject's [tool.mypy] files list this module).
    _fake: EngineClass = FakeEngine
    _sleep: EngineClass = SleepEngine
    _other: EngineClass = OtherEngine

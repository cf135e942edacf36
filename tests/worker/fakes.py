"""Fake engines with the real engine's interface, importable by worker subprocesses (PYTHONPATH=repo).

Pictures are tiny solid colours derived from (seed, cell), so they are deterministic; a variation takes the
colour of its source, which lets a test see which source a job used. Prompts steer failures: "engine-error"
raises EngineError, "crash" raises RuntimeError, "oom" raises an OutOfMemoryError.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from dataclasses import dataclass

import redis
from PIL import Image

from worker.spec import JobKind, JobSpec

SIZE = 16
LOADS_KEY = "test:engine-loads"
RUNS_KEY = "test:engine-runs"


class Cancelled(Exception):
    pass


class EngineError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class OutOfMemoryError(RuntimeError):
    """Named like torch.cuda.OutOfMemoryError."""


@dataclass
class Progress:
    step: int
    total: int
    preview: Image.Image | None = None


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
        out = {}
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

    def run(self, spec: JobSpec, source=None, progress=None, should_cancel=None) -> FakeResult:
        self.runs.append(spec.id)
        if (client := _redis()) is not None:
            client.rpush(RUNS_KEY, spec.id)
        if source is not None and spec.kind not in (JobKind.VARIATION, JobKind.UPSCALE):
            raise EngineError(f"{spec.kind} jobs take no source image")  # as models.engine.Engine refuses it
        text = spec.prompt.text
        if text == "engine-error":
            raise EngineError("That prompt cannot be drawn.")
        if text == "crash":
            raise RuntimeError("boom: internal detail that must not reach users")
        if text == "oom":
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
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

"""Fixtures for the engine tests: tiny SD1 and SDXL models saved to disk once per session, and spec builders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.engine import Engine
from models.settings import EngineSettings
from models.tiny import tiny_sd_pipeline, tiny_sdxl_pipeline
from worker.spec import (
    JobKind,
    JobSpec,
    Mode,
    PromptFields,
    Requester,
    Strength,
    WeightedPrompt,
    follow_up_spec,
    imagine_spec,
)

# Few steps and 64 px keep the whole suite fast on two CPU cores; the code paths are the full-size ones.
STEPS = 4
SIZE = 64


@pytest.fixture(scope="session")
def sd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "tiny-sd"
    tiny_sd_pipeline().save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def sdxl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "tiny-sdxl"
    tiny_sdxl_pipeline().save_pretrained(path)
    return path


def tiny_settings(model: Path | str, **overrides: object) -> EngineSettings:
    """Settings for a tiny model on the CPU: few steps, no default negative, every preview on."""
    values: dict[str, object] = {
        "model": str(model),
        "device": "cpu",
        "steps": STEPS,
        "preview_every": 1,
        "default_negative": "",
    }
    values.update(overrides)
    return EngineSettings(**values)


@pytest.fixture(scope="session")
def engine(sd_dir: Path) -> Engine:
    """The shared SD1-family engine; tests that need other settings build their own with make_engine."""
    return Engine.load(tiny_settings(sd_dir))


@pytest.fixture
def make_engine(sd_dir: Path) -> Callable[..., Engine]:
    def make(**overrides: object) -> Engine:
        return Engine.load(tiny_settings(overrides.pop("model", sd_dir), **overrides))

    return make


def make_spec(
    prompt: str | list[tuple[str, float]] = "a red fox in the snow",
    *,
    kind: JobKind = JobKind.IMAGINE,
    seed: int = 1234,
    guidance: float = 7.0,
    strength: Strength | None = None,
    steps: int | None = None,
    **fields: object,
) -> JobSpec:
    """A valid JobSpec for tests: 64×64 unless told otherwise; follow-ups get a parent."""
    parts = [(prompt, 1.0)] if isinstance(prompt, str) else prompt
    values: dict[str, object] = {"width": SIZE, "height": SIZE}
    values.update(fields)
    prompt_fields = PromptFields(prompts=[WeightedPrompt(text=t, weight=w) for t, w in parts], **values)
    requester = Requester(user_id=1, channel_id=2)
    # As the bot fills it (steps: the configured steps scaled by --quality), then the test's own guidance/steps.
    spec = imagine_spec(prompt_fields, requester, Mode.FAST, STEPS, model="tiny-sd", seed=seed)
    if kind is not JobKind.IMAGINE:
        spec = follow_up_spec(spec, kind, strength, 1, requester, Mode.FAST, STEPS, seed=seed)
    overrides = {"guidance": guidance} if steps is None else {"guidance": guidance, "steps": steps}
    return JobSpec.model_validate(spec.model_dump() | overrides)


def pixels(image: Image.Image) -> np.ndarray:
    """An image as float32 RGB in [0, 1]."""
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255


def distance(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference in [0, 1]."""
    return float(np.abs(pixels(a) - pixels(b)).mean())


def mean_pairwise_distance(images: list[Image.Image]) -> float:
    pairs = [(a, b) for i, a in enumerate(images) for b in images[i + 1 :]]
    return sum(distance(a, b) for a, b in pairs) / len(pairs)

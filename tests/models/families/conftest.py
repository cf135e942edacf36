"""Fixtures for the engine on every model family: the tiny random-weight pipelines of models/tiny_families, saved as
diffusers folders once per session and loaded through ``Engine.load``, exactly as a user's folder is.

The tiny models run at a 64 px base resolution (``IMAGINE_BASE_RESOLUTION``) and two steps: 1 MP on two CPU cores
would take minutes per grid, and every code path is the full-size one at any size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.engine import Engine
from models.settings import EngineSettings
from tests.models.tiny_families.conftest import CASES_BY_ID
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

STEPS = 2
BASE = 64
REQUESTER = Requester(user_id=1, channel_id=2)


@dataclass(frozen=True)
class Published:
    """What a variant's card must say: the family, and the published steps and guidance (at --stylize 100)."""

    family: str
    label: str
    steps: int
    guidance: float


PUBLISHED = {
    "sd3-medium": Published("sd3", "SD3 Medium", 28, 7.0),
    "sd3.5-medium": Published("sd3", "SD3.5 Medium", 40, 4.5),
    "sd3.5-large": Published("sd3", "SD3.5 Large", 28, 3.5),
    "flux-schnell": Published("flux", "FLUX.1 [schnell]", 4, 0.0),
    "flux-dev": Published("flux", "FLUX.1 [dev]", 28, 3.5),
    "flux2-klein-distilled": Published("flux2-klein", "FLUX.2 [klein]", 4, 0.0),
    "flux2-klein-base": Published("flux2-klein", "FLUX.2 [klein] base", 50, 4.0),
    "z-image": Published("z-image", "Z-Image-Turbo", 8, 0.0),
}
VARIANTS = list(PUBLISHED)
# One variant per family, for the tests whose subject is the family, not the variant.
FAMILIES = ["sd3.5-medium", "flux-dev", "flux2-klein-base", "z-image"]
by_variant = pytest.mark.parametrize("variant", VARIANTS)
by_family = pytest.mark.parametrize("variant", FAMILIES)


@pytest.fixture(scope="session")
def family_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Each variant's diffusers folder, saved the first time a test asks for it."""
    root = tmp_path_factory.mktemp("family-models")
    saved: dict[str, Path] = {}

    def folder(variant: str) -> Path:
        if variant not in saved:
            saved[variant] = CASES_BY_ID[variant].save(root / variant)
        return saved[variant]

    return folder


def settings_for(folder: Path, **overrides: object) -> EngineSettings:
    """A tiny family model on the CPU: 64 px base, two steps, a preview every step."""
    values: dict[str, object] = {
        "model": str(folder),
        "device": "cpu",
        "steps": STEPS,
        "base_resolution": BASE,
        "preview_every": 1,
    }
    return EngineSettings(**(values | overrides))


@pytest.fixture(scope="session")
def family_engine(family_dir: Callable[[str], Path]) -> Callable[..., Engine]:
    """``family_engine(variant, **settings)``: an Engine loaded from the variant's folder, one per settings."""
    engines: dict[tuple[str, str], Engine] = {}

    def load(variant: str, **overrides: object) -> Engine:
        key = (variant, repr(sorted(overrides.items())))
        if key not in engines:
            engines[key] = Engine.load(settings_for(family_dir(variant), **overrides))
        return engines[key]

    return load


def spec_for(
    engine: Engine,
    prompt: str | list[tuple[str, float]] = "a red fox in the snow",
    *,
    kind: JobKind = JobKind.IMAGINE,
    seed: int = 1234,
    strength: Strength | None = None,
    steps: int | None = None,
    **fields: object,
) -> JobSpec:
    """A spec as the bot makes one from this engine's card (its steps, its --stylize → guidance curve), with
    ``steps`` instead when given."""
    parts = [(prompt, 1.0)] if isinstance(prompt, str) else prompt
    values: dict[str, object] = {"width": BASE, "height": BASE} | fields
    prompt_fields = PromptFields(prompts=[WeightedPrompt(text=t, weight=w) for t, w in parts], **values)
    card = engine.card()
    spec = imagine_spec(
        prompt_fields, REQUESTER, Mode.FAST, card.default_steps, model=card.name, seed=seed, guidance=card.guidance
    )
    if kind is not JobKind.IMAGINE:
        spec = follow_up_spec(spec, kind, strength, 1, REQUESTER, Mode.FAST, card.default_steps, seed=seed)
    return spec if steps is None else JobSpec.model_validate(spec.model_dump() | {"steps": steps})


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255


def distance(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference in [0, 1]."""
    return float(np.abs(pixels(a) - pixels(b)).mean())


def mean_distance(a: list[Image.Image], b: list[Image.Image]) -> float:
    return float(np.mean([distance(x, y) for x, y in zip(a, b, strict=True)]))

"""bench/upscale.py's detail score and starting-noise reading measure what they claim."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bench.upscale import detail, noising, upscale_strength
from models.engine import Engine
from models.tiny import tiny_sd_pipeline
from tests.models.conftest import make_spec, tiny_settings
from worker.spec import JobKind, Strength


def test_detail_is_zero_when_flat_and_falls_when_blurred() -> None:
    """A flat image has no high-frequency energy; a Lanczos round trip through half size has less than the original."""
    rng = np.random.default_rng(0)
    sharp = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    assert detail(Image.new("RGB", (64, 64), (120, 30, 200))) < 1e-20
    blurred = sharp.resize((32, 32), Image.Resampling.LANCZOS).resize((64, 64), Image.Resampling.LANCZOS)
    assert detail(blurred) < detail(sharp)


def test_sweep_runs_the_engine_at_the_swept_strength(tmp_path: Path) -> None:
    """Inside upscale_strength the engine upscales at the swept strength (noisier start for more), then restores it."""
    tiny_sd_pipeline().save_pretrained(tmp_path)
    engine = Engine.load(tiny_settings(tmp_path))
    source = engine.run(make_spec(seed=7)).images[0]
    facts = engine.adapter.facts
    started = {}
    for strength in (0.2, 0.6):
        with upscale_strength(engine, strength), noising(engine) as sigmas:
            result = engine.run(make_spec(kind=JobKind.UPSCALE, strength=Strength.SUBTLE, steps=10), source=source)
        assert result.infos[0].strength == strength and len(sigmas) == 1 and 0 < sigmas[0] < 1
        started[strength] = sigmas[0]
    assert started[0.2] < started[0.6]
    assert engine.adapter.facts is facts

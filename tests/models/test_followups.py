"""Variations and upscales: img2img from a source cell, at the documented strengths and sizes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from models.engine import VARIATION_STRENGTH, Engine, EngineError
from models.families import base, flow
from tests.models.conftest import SIZE, distance, make_spec
from worker.engine import ErrorCode
from worker.spec import JobKind, Strength


@pytest.fixture(scope="module")
def source(engine: Engine) -> Image.Image:
    return engine.run(make_spec(seed=99)).images[0]


def _variation(engine: Engine, source: Image.Image, strength: Strength, seed: int = 5):
    return engine.run(make_spec(kind=JobKind.VARIATION, strength=strength, seed=seed), source=source)


def test_documented_strengths(engine: Engine) -> None:
    """Strong variations re-run 85 % of the noise schedule, subtle 50 %; SD upscales 20 % / 30 % (chosen by
    bench/upscale.py on the demo model), flow-matching upscales 4 % / 8 % (the same starting noise at shift 3)."""
    assert VARIATION_STRENGTH == {Strength.STRONG: 0.85, Strength.SUBTLE: 0.5}
    assert base.UPSCALE_STRENGTH == {Strength.SUBTLE: 0.2, Strength.CREATIVE: 0.3}
    assert flow.UPSCALE_STRENGTH == {Strength.SUBTLE: 0.04, Strength.CREATIVE: 0.08}
    assert engine.adapter.facts.upscale_strength == base.UPSCALE_STRENGTH


def test_variations_are_four_new_images_near_the_source(engine: Engine, source: Image.Image) -> None:
    """A variation returns a grid of four distinct images; subtle ones stay closer to the source than strong."""
    strong = _variation(engine, source, Strength.STRONG)
    subtle = _variation(engine, source, Strength.SUBTLE)
    assert len(strong.images) == 4 and strong.grid is not None
    assert all(image.size == (SIZE, SIZE) for image in subtle.images)
    assert distance(subtle.images[0], subtle.images[1]) > 0.001
    near = np.mean([distance(source, image) for image in subtle.images])
    far = np.mean([distance(source, image) for image in strong.images])
    assert near < far
    assert subtle.infos[0].strength == 0.5
    assert "Denoising strength: 0.5" in subtle.infos[0].parameters()


def test_variations_are_reproducible(engine: Engine, source: Image.Image) -> None:
    """The same variation spec and source give the same pixels."""
    first = _variation(engine, source, Strength.SUBTLE, seed=3)
    second = _variation(engine, source, Strength.SUBTLE, seed=3)
    assert all(distance(a, b) == 0 for a, b in zip(first.images, second.images, strict=True))


def test_upscale_doubles_each_side(engine: Engine, source: Image.Image) -> None:
    """An upscale returns one image at 2× per side, no grid; subtle stays closer to plain Lanczos than creative."""
    # Refinement runs steps × strength steps: enough steps that subtle (4) and creative (6) differ.
    result = engine.run(make_spec(kind=JobKind.UPSCALE, strength=Strength.SUBTLE, steps=20), source=source)
    assert len(result.images) == 1 and result.grid is None
    assert result.images[0].size == (2 * SIZE, 2 * SIZE) == (result.width, result.height)
    lanczos = source.resize((2 * SIZE, 2 * SIZE), Image.Resampling.LANCZOS)
    creative = engine.run(make_spec(kind=JobKind.UPSCALE, strength=Strength.CREATIVE, steps=20), source=source)
    assert distance(lanczos, result.images[0]) < distance(lanczos, creative.images[0])
    assert list(result.files()) == ["1.png"]


def test_large_upscales_decode_in_tiles(make_engine, source: Image.Image, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above vae_tiling_above pixels the VAE runs tiled, and tiling is switched off again afterwards."""
    engine = make_engine(vae_tiling_above=64)
    vae = engine.model.pipe.vae
    seen: list[bool] = []
    decode = vae.decode
    monkeypatch.setattr(vae, "decode", lambda *a, **k: (seen.append(vae.use_tiling), decode(*a, **k))[1])
    result = engine.run(make_spec(kind=JobKind.UPSCALE, strength=Strength.SUBTLE), source=source)
    assert result.images[0].size == (2 * SIZE, 2 * SIZE)
    assert seen and all(seen)
    assert not vae.use_tiling


@pytest.mark.parametrize("kind", [JobKind.VARIATION, JobKind.UPSCALE])
def test_follow_ups_need_a_source(engine: Engine, kind: JobKind) -> None:
    """Variations and upscales without a source image fail with a user-facing error."""
    with pytest.raises(EngineError, match="source image") as info:
        engine.run(make_spec(kind=kind, strength=Strength.SUBTLE))
    assert info.value.code is ErrorCode.BAD_INPUT


def test_imagine_takes_no_source(engine: Engine, source: Image.Image) -> None:
    """Passing a source to an imagine job is a mistake, reported rather than ignored."""
    with pytest.raises(EngineError, match="no source") as info:
        engine.run(make_spec(), source=source)
    assert info.value.code is ErrorCode.BAD_INPUT


def test_tiled_textures_are_not_vae_tiled(make_engine, source: Image.Image, monkeypatch: pytest.MonkeyPatch) -> None:
    """--tile keeps the VAE untiled even above vae_tiling_above: VAE tiles would break the wrap-around."""
    engine = make_engine(vae_tiling_above=64)
    vae = engine.model.pipe.vae
    seen: list[bool] = []
    decode = vae.decode
    monkeypatch.setattr(vae, "decode", lambda *a, **k: (seen.append(vae.use_tiling), decode(*a, **k))[1])
    engine.run(make_spec(kind=JobKind.UPSCALE, strength=Strength.SUBTLE, tile=True), source=source)
    assert seen and not any(seen)

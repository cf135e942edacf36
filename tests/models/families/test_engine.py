"""Every family through the engine, loaded from a diffusers folder: card, grid, seeds, variations, upscales."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.engine import Engine
from models.families import flow
from models.sampling import FlowMatchEulerWithEstimate
from tests.models.families.conftest import (
    BASE,
    PUBLISHED,
    STEPS,
    by_family,
    by_variant,
    distance,
    pixels,
    settings_for,
    spec_for,
)
from worker.engine import Progress
from worker.spec import JobKind, JobSpec, Strength

Engines = Callable[..., Engine]
# Non-square, so a swapped width and height (FLUX unpacks its tokens by both) shows.
WIDTH, HEIGHT = 80, 48


@by_variant
def test_card_has_the_published_defaults(variant: str, family_dir: Callable[[str], Path]) -> None:
    """Unconfigured, the card carries the family, its published steps and guidance, 16 px steps and ~1 MP base."""
    engine = Engine.load(settings_for(family_dir(variant), steps=None, base_resolution=None))
    card, published = engine.card(), PUBLISHED[variant]
    assert (card.family, engine.adapter.facts.label) == (published.family, published.label)
    assert (card.default_steps, card.guidance.at(100)) == (published.steps, published.guidance)
    assert (card.base_resolution, card.size_step) == (1024, 16)
    assert not card.capabilities.tile and card.capabilities.img2img
    assert card.name == engine.name == str(family_dir(variant))


@by_variant
def test_grid_is_four_distinct_cells_and_their_grid(variant: str, family_engine: Engines) -> None:
    """An imagine job returns four different 80×48 cells and their 2×2 grid, cell 1 top left."""
    engine = family_engine(variant)
    result = engine.run(spec_for(engine, width=WIDTH, height=HEIGHT))
    assert [image.size for image in result.images] == [(WIDTH, HEIGHT)] * 4
    assert result.grid is not None and result.grid.size == (2 * WIDTH, 2 * HEIGHT)
    assert all(distance(a, b) > 0.001 for i, a in enumerate(result.images) for b in result.images[i + 1 :])
    for index, cell in enumerate(result.images):
        x, y = (index % 2) * WIDTH, (index // 2) * HEIGHT
        assert np.array_equal(pixels(result.grid.crop((x, y, x + WIDTH, y + HEIGHT))), pixels(cell))
    assert result.infos[0].sampler == "Euler (flow matching)"


@by_variant
def test_same_seed_same_pixels_and_cells_regenerate_alone(variant: str, family_engine: Engines) -> None:
    """The same spec gives the same pixels, another seed others; cell 3 of seed s is cell 1 of seed s+2."""
    engine = family_engine(variant)
    first, again = engine.run(spec_for(engine, seed=7)), engine.run(spec_for(engine, seed=7))
    assert all(np.array_equal(pixels(a), pixels(b)) for a, b in zip(first.images, again.images, strict=True))
    shifted = engine.run(spec_for(engine, seed=9))
    assert distance(first.images[0], shifted.images[0]) > 0.001
    # Same initial noise and conditioning; only batch-size numerics may differ.
    assert distance(first.images[2], shifted.images[0]) < 2 / 255


def _run_steps(engine: Engine, spec: JobSpec, source: Image.Image) -> tuple[list[Image.Image], int]:
    reports: list[Progress] = []
    images = engine.run(spec, source=source, progress=reports.append).images
    return images, reports[-1].total


@by_variant
def test_variations_rerun_part_of_the_schedule(variant: str, family_engine: Engines) -> None:
    """Variations are four new images of the source's size, re-running 50 % (subtle) or 85 % (strong) of the steps.

    (Random weights pull any start to the same mush, so nearness to the source is no test here; the schedule is.)
    """
    engine = family_engine(variant)
    source = engine.run(spec_for(engine, seed=99)).images[0]
    runs = {
        strength: _run_steps(engine, spec_for(engine, kind=JobKind.VARIATION, strength=strength, steps=8), source)
        for strength in (Strength.SUBTLE, Strength.STRONG)
    }
    subtle, subtle_steps = runs[Strength.SUBTLE]
    assert [image.size for image in subtle] == [(BASE, BASE)] * 4
    assert distance(subtle[0], subtle[1]) > 0 and distance(subtle[0], source) > 0
    assert (subtle_steps, runs[Strength.STRONG][1]) == (_img2img_steps(8, 0.5), _img2img_steps(8, 0.85)) == (4, 7)


@by_variant
def test_upscale_doubles_each_side(variant: str, family_engine: Engines) -> None:
    """An upscale is one image at twice the size, refining the share of the steps the family's facts say (flow
    families: 4 % subtle, 8 % creative, with the steps raised so at least one runs)."""
    engine = family_engine(variant)
    source = engine.run(spec_for(engine, seed=99)).images[0]
    steps = {}
    for strength in (Strength.SUBTLE, Strength.CREATIVE):
        spec = spec_for(engine, kind=JobKind.UPSCALE, strength=strength, steps=12)
        reports: list[Progress] = []
        result = engine.run(spec, source=source, progress=reports.append)
        assert len(result.images) == 1 and result.grid is None
        assert result.images[0].size == (2 * BASE, 2 * BASE) == (result.width, result.height)
        steps[strength] = reports[-1].total
    assert engine.adapter.facts.upscale_strength == flow.UPSCALE_STRENGTH
    assert (
        steps
        == {Strength.SUBTLE: _img2img_steps(25, 0.04), Strength.CREATIVE: _img2img_steps(13, 0.08)}
        == {
            Strength.SUBTLE: 1,
            Strength.CREATIVE: 2,
        }
    )


def _img2img_steps(steps: int, strength: float) -> int:
    """The steps diffusers' img2img pipelines run: the schedule's last ``steps × strength`` (get_timesteps)."""
    return steps - int(max(steps - steps * strength, 0))


@by_family
def test_one_copy_of_the_weights_in_the_engine_dtype(variant: str, family_dir: Callable[[str], Path]) -> None:
    """Text-to-image, img2img and inpaint share every module, all in the engine's dtype (bf16 here)."""
    engine = Engine.load(settings_for(family_dir(variant), dtype="bf16"))
    pipes = (engine.adapter.pipe, engine.adapter.img2img, engine.adapter.inpaint)
    for name in ("transformer", "vae", "text_encoder"):
        modules = {id(getattr(pipe, name)) for pipe in pipes}
        assert len(modules) == 1, name
        assert getattr(pipes[0], name).dtype.__repr__() == "torch.bfloat16"
    assert isinstance(engine.adapter.pipe.scheduler, FlowMatchEulerWithEstimate)


@by_family
def test_progress_reports_steps_with_previews(variant: str, family_engine: Engines) -> None:
    """Each step is reported with a preview image from the family's latent layout (FLUX's tokens included)."""
    engine = family_engine(variant)
    reports: list[Progress] = []
    engine.run(spec_for(engine, steps=3, width=WIDTH, height=HEIGHT), progress=reports.append)
    assert [(r.step, r.total) for r in reports] == [(1, 3), (2, 3), (3, 3)]
    assert all(r.preview is not None and max(r.preview.size) >= 256 for r in reports)


@by_family
def test_quality_scales_the_steps(variant: str, family_engine: Engines) -> None:
    """The spec's steps (the card's steps × --quality) are the steps run."""
    engine = family_engine(variant)
    for quality, steps in ((2.0, 2 * STEPS), (0.5, STEPS // 2)):
        reports: list[Progress] = []
        engine.run(spec_for(engine, quality=quality), progress=reports.append)
        assert reports[-1].total == steps == len(reports)


@by_family
def test_stop_decodes_the_clean_estimate_early(variant: str, family_engine: Engines) -> None:
    """--stop 50 runs half the steps and decodes the flow-matching clean estimate: other pixels, not noise."""
    engine = family_engine(variant)
    reports: list[Progress] = []
    full = engine.run(spec_for(engine, steps=4))
    stopped = engine.run(spec_for(engine, steps=4, stop=50), progress=reports.append)
    assert [r.step for r in reports] == [1, 2] and reports[-1].total == 2
    assert distance(full.images[0], stopped.images[0]) > 0.001

    def roughness(image: Image.Image) -> float:
        return float(np.abs(np.diff(pixels(image), axis=1)).mean())

    assert np.mean([roughness(i) for i in stopped.images]) <= 1.1 * np.mean([roughness(i) for i in full.images])


@by_family
def test_chaos_changes_the_cells(variant: str, family_engine: Engines) -> None:
    """--chaos perturbs each image's conditioning: the cells change, and each stays reproducible alone."""
    engine = family_engine(variant)
    calm = engine.run(spec_for(engine, seed=3))
    wild, again = engine.run(spec_for(engine, seed=3, chaos=100)), engine.run(spec_for(engine, seed=5, chaos=100))
    assert np.mean([distance(a, b) for a, b in zip(calm.images, wild.images, strict=True)]) > 0.0005
    assert distance(wild.images[2], again.images[0]) < 2 / 255


@pytest.mark.parametrize("variant", ["flux-schnell", "z-image"])
def test_sizes_must_fit_the_patches(variant: str, family_engine: Engines) -> None:
    """Sides that are multiples of 8 but not 16 are refused (code bad_input): the 2×2 patches need 16 px."""
    from models.engine import EngineError
    from worker.engine import ErrorCode

    engine = family_engine(variant)
    with pytest.raises(EngineError, match="multiple of 16") as info:
        engine.run(spec_for(engine, width=72))
    assert info.value.code is ErrorCode.BAD_INPUT
    with pytest.raises(EngineError, match="longer than this model's 256 px"):
        engine.run(spec_for(engine, width=4 * BASE + 16, height=16))

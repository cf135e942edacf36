"""The imagine grid: one batched run of four distinct, reproducible cells, a 2×2 grid, and timings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from models.engine import Engine, EngineError
from tests.models.conftest import SIZE, STEPS, distance, make_spec, pixels, tiny_settings
from worker.engine import ErrorCode
from worker.spec import JobKind


def test_imagine_makes_four_distinct_cells_and_a_grid(engine: Engine) -> None:
    """An imagine job returns four different 64×64 cells and their 2×2 grid, cell 1 top left."""
    result = engine.run(make_spec())
    assert len(result.images) == 4
    assert all(image.size == (SIZE, SIZE) for image in result.images)
    assert result.grid is not None and result.grid.size == (2 * SIZE, 2 * SIZE)
    for i, a in enumerate(result.images):
        for b in result.images[i + 1 :]:
            assert distance(a, b) > 0.01
    for index, cell in enumerate(result.images):
        x, y = (index % 2) * SIZE, (index // 2) * SIZE
        assert np.array_equal(pixels(result.grid.crop((x, y, x + SIZE, y + SIZE))), pixels(cell))
    assert (result.seed, result.width, result.height, result.model) == (1234, SIZE, SIZE, engine.name)


def test_same_spec_and_seed_give_the_same_pixels(engine: Engine) -> None:
    """Running the same spec twice gives identical pixels; another seed gives other pixels."""
    first = engine.run(make_spec(seed=7))
    second = engine.run(make_spec(seed=7))
    other = engine.run(make_spec(seed=8))
    for a, b in zip(first.images, second.images, strict=True):
        assert np.array_equal(pixels(a), pixels(b))
    assert distance(first.images[0], other.images[0]) > 0.01


def test_each_cell_is_reproducible_from_its_own_seed(engine: Engine) -> None:
    """Cell i of seed s is cell 1 of seed s+i: any cell can be regenerated alone."""
    grid = engine.run(make_spec(seed=100))
    shifted = engine.run(make_spec(seed=102))
    # Same initial noise and conditioning; only batch-size numerics may differ.
    assert distance(grid.images[2], shifted.images[0]) < 2 / 255


def test_reroll_is_an_imagine_with_its_own_seed(engine: Engine) -> None:
    """A reroll job makes a fresh grid like imagine."""
    result = engine.run(make_spec(kind=JobKind.REROLL, seed=5))
    assert len(result.images) == 4 and result.grid is not None


def test_sdxl_family_generates(sdxl_dir: Path) -> None:
    """The SDXL path (pooled embeddings, size conditioning) produces a grid too."""
    engine = Engine.load(tiny_settings(sdxl_dir))
    result = engine.run(make_spec(negative="blurry"))
    assert len(result.images) == 4 and result.grid is not None


def test_stage_timings_are_reported(engine: Engine) -> None:
    """Results carry per-stage seconds for the benchmark and logs."""
    result = engine.run(make_spec())
    result.files()
    assert {"encode_prompt", "denoise", "decode", "grid", "files"} <= set(result.timings)
    assert result.seconds >= result.timings["denoise"] > 0


def test_a_job_for_another_model_is_refused(engine: Engine) -> None:
    """A spec naming a model this worker does not run fails with a user-facing EngineError, code unsupported."""
    with pytest.raises(EngineError, match="not 'sdxl'") as info:
        engine.run(make_spec(model="sdxl"))
    assert info.value.code is ErrorCode.UNSUPPORTED


def test_sizes_must_fit_the_vae(engine: Engine) -> None:
    """Sizes that are not multiples of the VAE factor are refused (code bad_input), not silently rounded."""
    with pytest.raises(EngineError, match="multiple of 8") as info:
        engine.run(make_spec(width=60))
    assert info.value.code is ErrorCode.BAD_INPUT


def test_sdxl_variation_and_empty_negative(sdxl_dir: Path) -> None:
    """SDXL img2img shares the weights and varies a cell; an empty negative is SDXL's zeroed unconditional."""
    from models.prompting import build_conditioning
    from worker.spec import Strength

    engine = Engine.load(tiny_settings(sdxl_dir))
    cond = build_conditioning(engine.model.pipe, make_spec().prompt, 1, 4, engine.settings)
    assert cond.pooled is not None and not cond.negative.any() and not cond.negative_pooled.any()
    assert engine.model.img2img.unet is engine.model.pipe.unet
    source = engine.run(make_spec(seed=2)).images[0]
    result = engine.run(make_spec(kind=JobKind.VARIATION, strength=Strength.SUBTLE), source=source)
    assert len(result.images) == 4 and result.images[0].size == (SIZE, SIZE)


def test_a_prompt_of_only_negative_weights_is_refused(engine: Engine) -> None:
    """With nothing to aim for (all weights negative) the job fails with a user-facing error, code bad_input."""
    with pytest.raises(EngineError, match="positive weight") as info:
        engine.run(make_spec([("a fox", -1.0)]))
    assert info.value.code is ErrorCode.BAD_INPUT


def test_one_batched_run_with_batched_guidance(make_engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A grid is one pipeline call: every UNet pass carries all four images, conditional and unconditional (8)."""
    engine = make_engine()
    unet = engine.model.pipe.unet
    forward = unet.forward
    batches: list[int] = []

    def spy(sample, *args, **kwargs):
        batches.append(sample.shape[0])
        return forward(sample, *args, **kwargs)

    monkeypatch.setattr(unet, "forward", spy)
    engine.run(make_spec(steps=5))
    assert batches == [8] * 5


def test_card_describes_the_loaded_model(make_engine: Callable[..., Engine], sd_dir: Path) -> None:
    """The engine's card names the loaded model, the aliases pointing at it, its sizes, steps and capabilities."""
    from worker.spec import SD_GUIDANCE

    engine = make_engine(model="b", aliases={"b": str(sd_dir), "v1": str(sd_dir), "xl": "elsewhere"})
    card = engine.card()
    assert (card.name, card.aliases, card.family) == (str(sd_dir), ("b", "v1"), "sd1")
    assert (card.base_resolution, card.size_step, card.max_side, card.default_steps) == (512, 64, 2048, STEPS)
    assert card.guidance == SD_GUIDANCE and card.answers_to("B")
    assert card.capabilities.tile and card.capabilities.img2img and not card.capabilities.inpaint

"""Each prompt flag on each family: its effect where the family honours it, a clear refusal where it cannot."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
import torch

from models.engine import Engine, EngineError
from tests.models.families.conftest import FAMILIES, mean_distance, pixels, spec_for
from worker.engine import ErrorCode

Engines = Callable[..., Engine]
# (variant, engine settings): every variant whose pipeline runs a negative pass, FLUX.1 only with true CFG.
WITH_NEGATIVE = [
    ("sd3-medium", {}),
    ("sd3.5-medium", {}),
    ("sd3.5-large", {}),
    ("flux-dev", {"true_cfg_scale": 4.0}),
    ("flux2-klein-base", {}),
]
WITHOUT_NEGATIVE = ["flux-schnell", "flux-dev", "flux2-klein-distilled", "z-image"]
# Families whose text tokens have a fixed length, so :: parts and the house style blend.
BLENDING = ["sd3.5-medium", "flux-dev", "flux2-klein-distilled"]


def _refused(engine: Engine, match: str, **fields: object) -> None:
    with pytest.raises(EngineError, match=match) as info:
        engine.run(spec_for(engine, **fields))  # type: ignore[arg-type]  # test fields, checked by PromptFields
    assert info.value.code is ErrorCode.UNSUPPORTED


@pytest.mark.parametrize(("variant", "settings"), WITH_NEGATIVE, ids=[v for v, _ in WITH_NEGATIVE])
def test_no_becomes_the_negative_side_and_changes_pixels(variant: str, settings: dict, family_engine: Engines) -> None:
    """--no is encoded as the negative conditioning of the family's real CFG pass, which changes the pixels."""
    engine = family_engine(variant, default_negative="", house_style="", **settings)
    assert engine.card().capabilities.negative_prompt
    with_no = spec_for(engine, negative="green trees")
    cond = engine.adapter.encode(with_no.prompt, with_no.seed, 4, engine.settings)
    alone = engine.adapter.encode(spec_for(engine, prompt="green trees").prompt, 0, 1, engine.settings)
    assert torch.allclose(
        cond.pipeline_kwargs()["negative_prompt_embeds"][0], alone.pipeline_kwargs()["prompt_embeds"][0]
    )
    assert mean_distance(engine.run(spec_for(engine)).images, engine.run(with_no).images) > 1e-4


@pytest.mark.parametrize("variant", WITHOUT_NEGATIVE)
def test_no_and_negative_weights_are_refused_without_cfg(variant: str, family_engine: Engines) -> None:
    """Families without a negative pass say so on the card and refuse --no and negative :: weights by name."""
    engine = family_engine(variant)
    label = engine.adapter.facts.label
    assert not engine.card().capabilities.negative_prompt and engine.settings.default_negative == ""
    _refused(engine, rf"{re.escape(label)} cannot honour --no: it has no negative prompt", negative="blurry")
    if engine.card().capabilities.weights:
        _refused(engine, "negative `::` weights", prompt=[("a fox", 1.0), ("a castle", -0.5)])


@pytest.mark.parametrize("variant", BLENDING)
def test_weights_average_the_parts(variant: str, family_engine: Engines) -> None:
    """`fox::1 castle::3` conditions on the weight-averaged token (and pooled) embeddings, which changes pixels."""
    engine = family_engine(variant, house_style="")

    def embeds(prompt: list[tuple[str, float]]) -> dict[str, torch.Tensor]:
        spec = spec_for(engine, prompt=prompt)
        return engine.adapter.encode(spec.prompt, 0, 1, engine.settings).pipeline_kwargs()

    mixed, fox, castle = (
        embeds([("a fox", 1.0), ("a castle", 3.0)]),
        embeds([("a fox", 1.0)]),
        embeds([("a castle", 1.0)]),
    )
    for name in ("prompt_embeds", "pooled_prompt_embeds"):
        if name in mixed:
            assert torch.allclose(mixed[name], 0.25 * fox[name] + 0.75 * castle[name], atol=1e-5), name
    one = engine.run(spec_for(engine, prompt=[("a fox", 1.0), ("a castle", 1.0)]))
    three = engine.run(spec_for(engine, prompt=[("a fox", 1.0), ("a castle", 3.0)]))
    # Some pixels move (klein's toy text tokens move few of them by a whole 8-bit level).
    assert mean_distance(one.images, three.images) > 0


@pytest.mark.parametrize("variant", ["sd3.5-medium", "flux-dev", "flux2-klein-base"])
def test_stylize_moves_the_guidance_scale(variant: str, family_engine: Engines) -> None:
    """--stylize sets the guidance scale from the family's curve (real CFG, or FLUX dev's embedded guidance)."""
    engine = family_engine(variant, house_style="")
    curve = engine.card().guidance
    low, high = spec_for(engine, stylize=0), spec_for(engine, stylize=1000)
    assert (low.guidance, high.guidance) == (curve.at_0, curve.at_1000) and curve.at_0 > curve.at_1000 > 1
    low_run, high_run = engine.run(low), engine.run(high)
    assert low_run.infos[0].guidance == curve.at_0
    assert mean_distance(low_run.images, high_run.images) > 1e-4


@pytest.mark.parametrize("variant", ["flux-schnell", "flux2-klein-distilled"])
def test_stylize_on_a_flat_curve_still_blends_the_house_style(variant: str, family_engine: Engines) -> None:
    """Distilled families keep guidance 0 at every --stylize; the house style alone moves the picture (not raw)."""
    engine = family_engine(variant, house_style="golden hour, film grain")
    zero, high, raw = (
        spec_for(engine, stylize=0),
        spec_for(engine, stylize=1000),
        spec_for(engine, stylize=1000, raw=True),
    )
    assert zero.guidance == high.guidance == 0
    zero_run = engine.run(zero)
    assert mean_distance(zero_run.images, engine.run(high).images) > 1e-4
    assert mean_distance(zero_run.images, engine.run(raw).images) == 0


def test_z_image_refuses_what_its_variable_length_captions_cannot_do(family_engine: Engines) -> None:
    """Z-Image-Turbo refuses :: multi-prompts and --stylize other than 100; the default look and --style raw run."""
    engine = family_engine("z-image")
    capabilities = engine.card().capabilities
    assert not (capabilities.weights or capabilities.stylize or capabilities.negative_prompt)
    assert engine.settings.house_style == ""
    _refused(engine, "cannot honour `::` multi-prompt weights", prompt=[("a fox", 1.0), ("a castle", 2.0)])
    _refused(engine, "cannot honour --stylize", stylize=250)
    plain, raw = engine.run(spec_for(engine)), engine.run(spec_for(engine, raw=True))
    assert mean_distance(plain.images, raw.images) == 0


def test_z_image_runs_cfg_when_a_spec_asks_for_guidance(family_engine: Engines) -> None:
    """A spec with guidance above 0 runs Z-Image's CFG (pos + g·(pos − neg)) against the empty prompt."""
    engine = family_engine("z-image")
    spec = spec_for(engine)
    guided = spec.model_copy(update={"guidance": 3.0})
    assert mean_distance(engine.run(spec).images, engine.run(guided).images) > 1e-4


@pytest.mark.parametrize("variant", FAMILIES)
def test_tile_is_refused_by_transformer_families(variant: str, family_engine: Engines) -> None:
    """--tile (circular padding of convolutions) is off on the card and refused with code unsupported."""
    engine = family_engine(variant)
    assert not engine.card().capabilities.tile
    _refused(engine, "seamless tiles", tile=True)


def test_flux_true_cfg_opens_the_negative_prompt(family_engine: Engines) -> None:
    """IMAGINE_TRUE_CFG_SCALE above 1 gives FLUX.1 a negative pass: the card says so and the call carries the scale."""
    plain, true_cfg = family_engine("flux-dev"), family_engine("flux-dev", true_cfg_scale=4.0)
    assert not plain.card().capabilities.negative_prompt and true_cfg.card().capabilities.negative_prompt
    assert true_cfg.adapter.call_kwargs(3.5, 64, 64, None, None)["true_cfg_scale"] == 4.0
    assert "true_cfg_scale" not in plain.adapter.call_kwargs(3.5, 64, 64, None, None)
    # The default negative applies once a negative pass runs.
    assert "watermark" in true_cfg.settings.default_negative


def test_chaos_noise_depends_only_on_each_cells_seed(family_engine: Engines) -> None:
    """On variable-length captions too, cell 3's chaos noise of seed s is cell 1's of seed s+2."""
    engine = family_engine("z-image")
    grid = engine.adapter.encode(spec_for(engine, chaos=80).prompt, 10, 4, engine.settings)
    alone = engine.adapter.encode(spec_for(engine, chaos=80).prompt, 12, 1, engine.settings)
    rows, single = grid.pipeline_kwargs()["prompt_embeds"], alone.pipeline_kwargs()["prompt_embeds"]
    assert torch.equal(rows[2], single[0]) and not torch.equal(rows[0], rows[1])
    assert np.isfinite(pixels(engine.run(spec_for(engine, chaos=100)).images[0])).all()

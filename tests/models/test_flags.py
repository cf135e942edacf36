"""Each prompt flag has its documented effect: --no, :: weights, --stylize/--style raw, --chaos, --stop, --tile, --q."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from models.engine import Engine, Progress
from models.prompting import build_conditioning, encode_texts, house_style_share, negative_text
from models.settings import EngineSettings
from tests.models.conftest import STEPS, distance, make_spec, mean_pairwise_distance, pixels


def _cond(engine: Engine, spec, batch: int = 4):
    return build_conditioning(engine.model.pipe, spec.prompt, spec.seed, batch, engine.settings)


def _mean_distance(a, b) -> float:
    return float(np.mean([distance(x, y) for x, y in zip(a.images, b.images, strict=True)]))


def test_no_becomes_the_negative_prompt_joined_with_the_default() -> None:
    """--no text is joined with the configured default negative prompt."""
    settings = EngineSettings(default_negative="lowres, watermark")
    assert negative_text(make_spec(negative="red").prompt, settings) == "red, lowres, watermark"
    assert negative_text(make_spec().prompt, settings) == "lowres, watermark"
    assert negative_text(make_spec().prompt, EngineSettings(default_negative="")) == ""


def test_no_changes_the_negative_conditioning_and_the_image(engine: Engine) -> None:
    """--no encodes its text as the unconditional side of guidance, which changes the pixels."""
    plain, with_no = make_spec(), make_spec(negative="green trees")
    expected = encode_texts(engine.model.pipe, ["green trees"]).embeds[0]
    assert torch.allclose(_cond(engine, with_no).negative[0], expected, atol=1e-5)
    assert _mean_distance(engine.run(plain), engine.run(with_no)) > 0.002


def test_weights_average_the_parts_by_weight(make_engine: Callable[..., Engine]) -> None:
    """`fox::1 castle::3` conditions on the weight-averaged embeddings (a quarter fox, three quarters castle)."""
    engine = make_engine(house_style="")
    cond = _cond(engine, make_spec([("a fox", 1.0), ("a castle", 3.0)]))
    fox, castle = encode_texts(engine.model.pipe, ["a fox", "a castle"]).embeds
    assert torch.allclose(cond.embeds[0], 0.25 * fox + 0.75 * castle, atol=1e-5)
    one = engine.run(make_spec([("a fox", 1.0), ("a castle", 1.0)]))
    three = engine.run(make_spec([("a fox", 1.0), ("a castle", 3.0)]))
    assert _mean_distance(one, three) > 0.002


def test_negative_weights_push_away(make_engine: Callable[..., Engine]) -> None:
    """A part with negative weight leaves the prompt and joins the negative side, weighted by |w|."""
    engine = make_engine(house_style="")
    cond = _cond(engine, make_spec([("a fox", 1.0), ("a castle", -0.5)]))
    fox, castle, empty = encode_texts(engine.model.pipe, ["a fox", "a castle", ""]).embeds
    assert torch.allclose(cond.embeds[0], fox, atol=1e-5)
    assert torch.allclose(cond.negative[0], (empty + 0.5 * castle) / 1.5, atol=1e-5)


def test_stylize_blends_in_house_style_in_proportion() -> None:
    """The house-style share is house_style_weight × stylize/1000, and zero with --style raw."""
    settings = EngineSettings(house_style="golden hour", house_style_weight=0.5)
    assert house_style_share(make_spec(stylize=0).prompt, settings) == 0
    assert house_style_share(make_spec(stylize=100).prompt, settings) == 0.05
    assert house_style_share(make_spec(stylize=1000).prompt, settings) == 0.5
    assert house_style_share(make_spec(stylize=1000, raw=True).prompt, settings) == 0
    assert house_style_share(make_spec().prompt, EngineSettings(house_style="")) == 0


def test_stylize_moves_the_image_toward_the_house_style(engine: Engine) -> None:
    """High --stylize changes the conditioning and the pixels; --style raw gives the unstyled result."""
    pipe = engine.model.pipe
    prompt, house = encode_texts(pipe, ["a red fox in the snow", engine.settings.house_style]).embeds
    styled = _cond(engine, make_spec(stylize=1000)).embeds[0]
    assert torch.allclose(styled, torch.lerp(prompt, house, engine.settings.house_style_weight), atol=1e-5)
    zero, raw = engine.run(make_spec(stylize=0)), engine.run(make_spec(stylize=1000, raw=True))
    high = engine.run(make_spec(stylize=1000))
    assert _mean_distance(zero, raw) == 0
    assert _mean_distance(zero, high) > 0.005


def test_chaos_spreads_the_four_images_apart(engine: Engine) -> None:
    """More --chaos: more distinct conditionings and a larger mean pairwise distance between the images."""
    # High guidance makes the toy model's images follow their (noised) conditioning more, so the spread shows.
    assert torch.equal(_cond(engine, make_spec(chaos=0)).embeds[0], _cond(engine, make_spec(chaos=0)).embeds[3])
    spread = [mean_pairwise_distance(engine.run(make_spec(chaos=c, guidance=20.0)).images) for c in (0, 50, 100)]
    assert spread[0] < spread[1] < spread[2]
    rows = [_cond(engine, make_spec(chaos=c)).embeds for c in (50, 100)]
    assert all(float((r[0] - r[1]).abs().mean()) > 0 for r in rows)


def test_chaos_keeps_cells_reproducible_alone(engine: Engine) -> None:
    """The chaos noise of cell i depends only on seed+i, so cell 3 of seed s is cell 1 of seed s+2."""
    grid = _cond(engine, make_spec(chaos=80, seed=10))
    alone = _cond(engine, make_spec(chaos=80, seed=12), batch=1)
    assert torch.allclose(grid.embeds[2], alone.embeds[0])


def test_stop_ends_denoising_early(engine: Engine) -> None:
    """--stop 50 runs half the steps and decodes the clean estimate: different, smoother, not noisier."""
    reports: list[Progress] = []
    full = engine.run(make_spec())
    stopped = engine.run(make_spec(stop=50), progress=reports.append)
    assert [r.step for r in reports] == list(range(1, STEPS // 2 + 1))
    assert reports[-1].total == STEPS // 2
    assert _mean_distance(full, stopped) > 0.001

    def roughness(image) -> float:
        return float(np.abs(np.diff(pixels(image), axis=1)).mean())

    assert np.mean([roughness(i) for i in stopped.images]) <= 1.1 * np.mean([roughness(i) for i in full.images])


def test_tile_makes_a_seamless_texture(engine: Engine) -> None:
    """With --tile the wrapped edges (right→left, bottom→top) look like any interior pair of neighbouring lines."""
    result = engine.run(make_spec(tile=True, width=128, height=128))
    for image in result.images:
        a = pixels(image)
        for axis in (0, 1):
            lines = np.moveaxis(a, axis, 0)
            interior = np.abs(np.diff(lines, axis=0)).mean(axis=(1, 2))  # one value per neighbouring pair
            seam = np.abs(lines[0] - lines[-1]).mean()
            assert seam <= np.percentile(interior, 95)
    # The shared modules are restored: the next job pads with zeros again.
    convs = [m for m in engine.model.pipe.unet.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(conv.padding_mode == "zeros" for conv in convs)


def test_quality_scales_the_steps(engine: Engine) -> None:
    """The spec's steps are run: the bot's steps_for_quality makes --quality 2 twice the configured steps, .5 half."""
    for quality, steps in ((2.0, 2 * STEPS), (0.5, STEPS // 2)):
        reports: list[Progress] = []
        engine.run(make_spec(quality=quality), progress=reports.append)
        assert reports[-1].total == steps == len(reports)


def test_guidance_comes_from_the_spec(engine: Engine) -> None:
    """The spec's guidance scale (from --stylize) drives classifier-free guidance."""
    low, high = engine.run(make_spec(guidance=2.0)), engine.run(make_spec(guidance=9.0))
    assert _mean_distance(low, high) > 0.005
    assert low.infos[0].guidance == 2.0


def test_house_style_and_negative_default_per_model_family() -> None:
    """Unset, real models get the SD house style and negative, the demo model none; explicit values always win."""
    sd = EngineSettings().for_family("sd1")
    assert "cinematic" in sd.house_style and "watermark" in sd.default_negative
    demo = EngineSettings().for_family("demo")
    assert (demo.house_style, demo.default_negative) == ("", "")
    mine = EngineSettings(house_style="moody", default_negative="").for_family("demo")
    assert (mine.house_style, mine.default_negative) == ("moody", "")

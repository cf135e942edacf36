"""Each family's latent layout and prompt features behave as its module docstring records."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from diffusers import DiffusionPipeline

from tests.models.tiny_families.conftest import distance, generate, gradient_image, pixels

Loader = Callable[[str], DiffusionPipeline]


def same(a: object, b: object) -> bool:
    return bool(np.array_equal(pixels(a), pixels(b)))  # type: ignore[arg-type]  # PIL images reach numpy through the array protocol


@pytest.mark.parametrize(
    ("case_id", "latent_channels", "transformer_in"),
    [
        ("sd3.5-medium", 16, 16),
        ("flux-schnell", 16, 64),
        ("flux2-klein-distilled", 32, 128),
        ("z-image", 16, 16),
    ],
)
def test_latent_layout(case_id: str, latent_channels: int, transformer_in: int, loaded: Loader) -> None:
    """Latents are at 1/8 of the pixel size with the family's channels; FLUX packs 2×2 patches into tokens."""
    pipe = loaded(case_id)
    assert pipe.vae_scale_factor == 8
    assert pipe.vae.config.latent_channels == latent_channels
    assert pipe.transformer.config.in_channels == transformer_in


# Z-Image's scale is offset by one: it computes pos + g·(pos − neg), so 0 is "no CFG" where SD3's is 1.
@pytest.mark.parametrize(("case_id", "off"), [("sd3.5-medium", 1.0), ("z-image", 0.0)])
def test_negative_prompt_acts_only_under_cfg(case_id: str, off: float, loaded: Loader) -> None:
    """A negative prompt changes the image under real CFG and is unused at the family's "no CFG" scale."""
    pipe = loaded(case_id)
    for guidance, changes in ((4.0, True), (off, False)):
        plain = generate(pipe, guidance_scale=guidance, negative_prompt="")
        negative = generate(pipe, guidance_scale=guidance, negative_prompt="blurry, low quality")
        assert same(plain, negative) is not changes


def test_flux_dev_embeds_guidance_and_schnell_ignores_it(loaded: Loader) -> None:
    """FLUX.1-dev's guidance embedding makes guidance_scale change the image; schnell has no guidance input."""
    dev, schnell = loaded("flux-dev"), loaded("flux-schnell")
    assert dev.transformer.config.guidance_embeds and not schnell.transformer.config.guidance_embeds
    assert distance(generate(dev, guidance_scale=1.0), generate(dev, guidance_scale=6.0)) > 1e-4
    assert same(generate(schnell, guidance_scale=1.0), generate(schnell, guidance_scale=6.0))


def test_flux_true_cfg_uses_the_negative_prompt(loaded: Loader) -> None:
    """FLUX.1 runs a second, negative pass only with true_cfg_scale > 1 and a negative prompt."""
    pipe = loaded("flux-schnell")
    plain = generate(pipe, negative_prompt="blurry", true_cfg_scale=1.0)
    assert same(plain, generate(pipe))
    assert distance(plain, generate(pipe, negative_prompt="blurry", true_cfg_scale=4.0)) > 1e-4


def test_klein_distilled_ignores_guidance_and_base_runs_cfg(loaded: Loader) -> None:
    """klein distilled ignores guidance_scale; klein base runs CFG against an empty prompt when it is > 1."""
    distilled, base = loaded("flux2-klein-distilled"), loaded("flux2-klein-base")
    assert distilled.config.is_distilled and not base.config.is_distilled
    assert same(generate(distilled, guidance_scale=1.0), generate(distilled, guidance_scale=4.0))
    assert distance(generate(base, guidance_scale=1.0), generate(base, guidance_scale=4.0)) > 1e-4


def test_klein_edits_from_a_reference_image(loaded: Loader) -> None:
    """Passing a reference image to the klein pipeline conditions generation on it (its img2img)."""
    pipe = loaded("flux2-klein-distilled")
    # Compared before quantising to 8 bits: the toy model's reference tokens move few pixels by a whole level.
    plain = generate(pipe, output_type="np")
    edited = generate(pipe, image=gradient_image((64, 64)), output_type="np")
    assert np.abs(plain - edited).max() > 1e-3

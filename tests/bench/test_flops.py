"""bench/flop_count.py and bench/flops.py: meta-device counts match known figures; the section states assumptions."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench import flop_count, flops
from models.tiny_families import flux, flux2_klein, sd3, z_image


def test_sd15_unet_pass_matches_the_known_figure() -> None:
    """One SD1.5 UNet forward for one 512² image (batch 1, no CFG) counts 0.803 TFLOP, within 2 %."""
    part = flop_count.unet_pass(flop_count.SD15_UNET, 512, sdxl=False)
    assert part.flops == pytest.approx(0.803e12, rel=0.02)
    assert part.params == pytest.approx(860e6, rel=0.01)


def test_flux_pass_costs_more_than_sdxl_pass() -> None:
    """A FLUX.1 dev pass at 1024² (512 T5 tokens) costs several times an SDXL UNet pass at 1024²."""
    sdxl = flop_count.unet_pass(flop_count.SDXL_UNET, 1024, sdxl=True)
    dev = flop_count.flux_pass("dev", flop_count.LONG_TOKENS)
    assert dev.flops > 5 * sdxl.flops


@pytest.mark.parametrize(
    ("part", "published"),
    [
        (lambda: flop_count.sd3_pass("3.5-medium", 256), sd3.PUBLISHED_PARAMETERS["3.5-medium"]),
        (lambda: flop_count.sd3_pass("3.5-large", 256), sd3.PUBLISHED_PARAMETERS["3.5-large"]),
        (lambda: flop_count.flux_pass("schnell", 256), flux.PUBLISHED_PARAMETERS),
        (lambda: flop_count.klein_pass(256), flux2_klein.PUBLISHED_PARAMETERS["4B"]),
        (lambda: flop_count.z_image_pass(256), z_image.PUBLISHED_PARAMETERS),
    ],
    ids=["sd3.5-medium", "sd3.5-large", "flux.1", "klein-4b", "z-image"],
)
def test_denoiser_memory_counts_match_published_sizes(part: Callable[[], flop_count.Part], published: float) -> None:
    """Parameters plus stored buffers of each full-size transformer are within 5 % of its published size."""
    assert part().params == pytest.approx(published, rel=0.05)


def test_section_states_its_assumptions() -> None:
    """The grid table names the assumed utilisation in its heading and prints one row per run, from given counts."""
    unit = flop_count.Part(1e12, 10**9)
    family = flop_count.Family("Demo", 1024, unit, (("enc", unit),), unit)
    runs = [flops.Run(family, 20, cfg=True), flops.Run(family, 4, cfg=False)]
    body = flops.render([family], runs, denoiser_use=0.45, other_use=0.3)
    assert "estimate H100 SXM (assumed 45% / 30% of peak)" in body
    assert "| Demo, 20 | 2 (CFG) | 166 TFLOP |" in body  # 20 × 2 × 4 + 2 text + 4 decodes, 1 TFLOP each
    assert "| Demo, 4 | 1 | 21.000 TFLOP |" in body

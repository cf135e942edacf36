"""The follow-up scores of models/demo/followups.py measure what they claim, and the demo model's upscales keep the
composition they score."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from models.demo.followups import PROMPTS, _follow_up, _spec, psnr, ssim
from models.engine import Engine
from models.settings import EngineSettings
from worker.spec import JobKind, Strength


def _noisy(image: Image.Image, amount: float, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, dtype=np.float64) + rng.normal(0, amount, (image.height, image.width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _picture() -> Image.Image:
    y, x = np.mgrid[0:64, 0:96]
    rgb = np.stack([x * 2.5, y * 3.5, (x + y) * 1.5], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8))


def test_ssim_is_one_for_identical_and_falls_with_noise():
    """SSIM is 1 for the same picture and decreases as more noise is added."""
    image = _picture()
    assert abs(ssim(image, image) - 1) < 1e-9
    assert 1 > ssim(image, _noisy(image, 10)) > ssim(image, _noisy(image, 40))


def test_psnr_is_infinite_for_identical_and_falls_with_noise():
    """PSNR is infinite for the same picture and lower for a noisier one."""
    image = _picture()
    assert psnr(image, image) == float("inf")
    assert psnr(image, _noisy(image, 5)) > psnr(image, _noisy(image, 20)) > 10


@pytest.fixture(scope="module")
def demo() -> Engine:
    return Engine.load(EngineSettings(model="demo", device="cpu", steps=20))


def test_demo_upscales_keep_the_composition(demo: Engine) -> None:
    """On the demo model, both upscales, downscaled, keep the source's composition (SSIM ≥ 0.9 subtle, ≥ 0.8
    creative: the rule the strengths were chosen by); creative changes more than subtle."""
    parent = _spec(PROMPTS[0], 0)
    source = demo.run(parent).images[0]
    kept = {}
    for strength in (Strength.SUBTLE, Strength.CREATIVE):
        big = demo.run(_follow_up(parent, JobKind.UPSCALE, strength, 0), source=source).images[0]
        assert big.size == (2 * source.width, 2 * source.height)
        kept[strength] = ssim(big.resize(source.size, Image.Resampling.LANCZOS), source)
    assert kept[Strength.SUBTLE] >= 0.9
    assert kept[Strength.CREATIVE] >= 0.8
    assert kept[Strength.CREATIVE] < kept[Strength.SUBTLE]

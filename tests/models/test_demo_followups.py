"""The follow-up scores of models/demo/followups.py measure what they claim."""

from __future__ import annotations

import numpy as np
from PIL import Image

from models.demo.followups import psnr, ssim


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

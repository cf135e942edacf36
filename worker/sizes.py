"""Aspect ratio → pixel size: the one resolution table of the project.

A model is trained around a base resolution (512 px for SD1.x, 768 for SD2.x, 1024 for SDXL and the transformer
families); images far from base² pixels come out broken (duplicated subjects, mush). So a requested ratio is met
with sides that are multiples of the model's size step and an area within ±10 % of base², choosing the ratio
closest to the request. SDXL was trained on a fixed bucket list, so at base 1024 with SD's 64 px step only those
buckets are offered; the transformer families (16 px steps) get every size of about 1 MP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Base resolutions by model family; "demo" is the bundled model's native size. SD3/3.5, FLUX.1, FLUX.2 klein and
# Z-Image all publish 1024×1024 as native (see models/families/ for the sources).
BASE_RESOLUTION: dict[str, int] = {
    "sd1": 512, "sd2": 768, "sdxl": 1024, "demo": 128, "sd3": 1024, "flux": 1024, "flux2-klein": 1024, "z-image": 1024,
}  # fmt: skip

# Sides must be multiples of this: the VAE's factor 8 × the UNet's total downsampling (8 for SD models).
DEFAULT_SIZE_STEP = 64
# By family; the demo UNet downsamples 4× (three blocks), so its sides step by 32 px. The transformer families
# patchify the 8× VAE's latents 2×2: 16 px.
SIZE_STEP: dict[str, int] = {
    "sd1": 64, "sd2": 64, "sdxl": 64, "demo": 32, "sd3": 16, "flux": 16, "flux2-klein": 16, "z-image": 16,
}  # fmt: skip

AREA_TOLERANCE = 0.10
# A size more than 10 % off the requested ratio passes for another ratio. At the demo's 128 px base with 32 px
# steps the ±10 % window holds only 128×128, 160×96 and 256×64 (and transposes), so 4:3, 3:2, 16:9 and 2:1 would
# all be 160×96: for such a ratio the window widens, up to ±50 % (3:2 is 192×128 there).
RATIO_TOLERANCE = math.log(1.10)
MAX_AREA_TOLERANCE = 0.50

# SDXL training buckets (SDXL paper, appendix), as (width, height) with width ≥ height; the
# transposed sizes are buckets too.
SDXL_BUCKETS: tuple[tuple[int, int], ...] = (
    (1024, 1024), (1088, 960), (1088, 896), (1152, 896), (1152, 832), (1216, 832), (1280, 768),
    (1344, 768), (1344, 704), (1408, 704), (1472, 704), (1536, 640), (1600, 640), (1664, 576),
    (1728, 576), (1792, 576), (1856, 512), (1920, 512), (1984, 512), (2048, 512),
)  # fmt: skip


@dataclass(frozen=True)
class Aspect:
    """A reduced width:height ratio such as 16:9."""

    width: int
    height: int

    @classmethod
    def of(cls, width: int, height: int) -> Aspect:
        g = math.gcd(width, height)
        return cls(width // g, height // g)

    @property
    def ratio(self) -> float:
        return self.width / self.height

    def __str__(self) -> str:
        return f"{self.width}:{self.height}"


def _candidates(base: int, step: int, tolerance: float) -> list[tuple[int, int]]:
    if base == 1024 and step == DEFAULT_SIZE_STEP:
        return [*SDXL_BUCKETS, *((h, w) for w, h in SDXL_BUCKETS if w != h)]
    target = base * base
    low, high = target * (1 - tolerance), target * (1 + tolerance)
    sizes = []
    # Ratios are limited to 1:4..4:1 and areas to 1.5 base², so no side exceeds 2.5 × base.
    for w in range(step, 3 * base + step, step):
        for h in range(step, 3 * base + step, step):
            if low <= w * h <= high:
                sizes.append((w, h))
    return sizes


def size_for_aspect(aspect: Aspect, base: int, step: int = DEFAULT_SIZE_STEP) -> tuple[int, int]:
    """Return (width, height) for ``aspect`` on a model of base resolution ``base``.

    The result has sides divisible by ``step``, an area within ±10 % of ``base``² (or an SDXL bucket at
    base 1024), and the ratio closest to the request in log space; ties go to the area closest to base².
    Where the step is coarse next to the base, no size in that window may come within RATIO_TOLERANCE of the
    ratio: the window then widens by 10 % at a time, up to ±MAX_AREA_TOLERANCE, until one does (else the closest
    ratio within ±MAX_AREA_TOLERANCE). Raises ValueError when ``base`` is not a positive multiple of ``step``.
    """
    if base <= 0 or step <= 0 or base % step:
        raise ValueError(f"base resolution {base} must be a positive multiple of {step}")
    want = math.log(aspect.ratio)
    target = base * base

    def distance(size: tuple[int, int]) -> tuple[float, int]:
        w, h = size
        return (round(abs(math.log(w / h) - want), 9), abs(w * h - target))

    widenings = round(MAX_AREA_TOLERANCE / AREA_TOLERANCE)
    for times in range(1, widenings + 1):
        best = min(_candidates(base, step, times * AREA_TOLERANCE), key=distance)
        if distance(best)[0] <= round(RATIO_TOLERANCE, 9):  # rounded as distance() rounds: exactly 10 % is within
            break
    return best

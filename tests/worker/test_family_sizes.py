"""--ar sizes for the transformer families: 16 px steps around one megapixel."""

from __future__ import annotations

import pytest

from worker.sizes import BASE_RESOLUTION, SIZE_STEP, Aspect, size_for_aspect


@pytest.mark.parametrize("family", ["sd3", "flux", "flux2-klein", "z-image"])
@pytest.mark.parametrize("aspect", [Aspect(1, 1), Aspect(16, 9), Aspect(2, 3), Aspect(4, 1)])
def test_transformer_families_get_one_megapixel_in_16_px_steps(family: str, aspect: Aspect) -> None:
    """Every ratio gets sides in 16 px steps and about 1024² pixels (±10 %), not SDXL's 64 px buckets."""
    base, step = BASE_RESOLUTION[family], SIZE_STEP[family]
    width, height = size_for_aspect(aspect, base, step)
    assert (base, step) == (1024, 16)
    assert width % 16 == 0 and height % 16 == 0
    assert 0.9 * base**2 <= width * height <= 1.1 * base**2
    assert abs(width / height - aspect.ratio) < 0.05 * aspect.ratio


def test_sixteen_by_nine_is_closer_than_sdxls_bucket() -> None:
    """16:9 at 16 px steps lands nearer the ratio than SDXL's nearest bucket (1344×768, 7:4)."""
    width, height = size_for_aspect(Aspect(16, 9), 1024, 16)
    assert abs(width / height - 16 / 9) < abs(1344 / 768 - 16 / 9)

"""Aspect ratio → pixel size, for every model family."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.sizes import BASE_RESOLUTION, SDXL_BUCKETS, SIZE_STEP, Aspect, size_for_aspect


def test_aspect_is_reduced():
    """32:18 is the same request as 16:9."""
    assert str(Aspect.of(32, 18)) == "16:9"


@pytest.mark.parametrize(
    ("aspect", "size"),
    [((1, 1), (1024, 1024)), ((16, 9), (1344, 768)), ((3, 2), (1216, 832)), ((9, 16), (768, 1344)),
     ((2, 3), (832, 1216)), ((4, 3), (1152, 896)), ((4, 1), (2048, 512))],
)  # fmt: skip
def test_sdxl_uses_the_known_buckets(aspect, size):
    """SDXL sizes match the published bucket list (16:9 → 1344×768, 3:2 → 1216×832)."""
    assert size_for_aspect(Aspect.of(*aspect), BASE_RESOLUTION["sdxl"]) == size


def test_sd15_square_and_wide():
    """SD1.5 keeps 512×512 for 1:1 and a 64-multiple near-512² frame for 16:9."""
    assert size_for_aspect(Aspect.of(1, 1), 512) == (512, 512)
    assert size_for_aspect(Aspect.of(16, 9), 512) == (704, 384)


@given(
    w=st.integers(1, 40),
    h=st.integers(1, 40),
    base=st.sampled_from([BASE_RESOLUTION["sd1"], BASE_RESOLUTION["sd2"], 256, 384]),
)
def test_sizes_keep_area_step_and_nearest_ratio(w, h, base):
    """Any ratio 1:4..4:1 gets 64-multiple sides and the closest ratio of the sizes within ±10 % of base²; only
    when none of those is within 10 % of the ratio may the area stray further (±50 % at most), for a closer one."""
    if not 0.25 <= w / h <= 4:
        return
    width, height = size_for_aspect(Aspect.of(w, h), base)
    assert width % 64 == 0 and height % 64 == 0
    error = abs(math.log(width / height) - math.log(w / h))
    near = [
        abs(math.log(cw / ch) - math.log(w / h))
        for cw in range(64, 3 * base + 1, 64)
        for ch in range(64, 3 * base + 1, 64)
        if abs(cw * ch - base * base) <= 0.1 * base * base
    ]
    if min(near) <= math.log(1.1) + 1e-9:
        assert abs(width * height - base * base) <= 0.1 * base * base
        assert error <= min(near) + 1e-9  # no legal size is closer to the asked ratio
    else:
        assert abs(width * height - base * base) <= 0.5 * base * base
        assert error <= min(near) + 1e-9


def test_demo_sizes_for_the_common_ratios():
    """At the demo's base 128 and 32 px step, the common ratios and their transposes all get sizes of their own."""
    base, step = BASE_RESOLUTION["demo"], SIZE_STEP["demo"]
    wide = {
        (1, 1): (128, 128),
        (4, 3): (128, 96),
        (3, 2): (192, 128),
        (16, 9): (160, 96),
        (2, 1): (192, 96),
    }
    for (w, h), size in wide.items():
        assert size_for_aspect(Aspect.of(w, h), base, step) == size, f"{w}:{h}"
        assert size_for_aspect(Aspect.of(h, w), base, step) == size[::-1], f"{h}:{w}"
    assert len(set(wide.values())) == len(wide)


def test_orientation_follows_the_request():
    """Wide requests come out wide and tall ones tall, on every base."""
    for base in (512, 768, 1024):
        w, h = size_for_aspect(Aspect.of(16, 9), base)
        assert w > h
        w, h = size_for_aspect(Aspect.of(9, 16), base)
        assert h > w


def test_demo_model_frames_follow_the_aspect():
    """The demo model's 32 px step gives distinct wide, tall and square frames (a 64 px step could not)."""
    base, step = BASE_RESOLUTION["demo"], SIZE_STEP["demo"]
    wide = size_for_aspect(Aspect.of(16, 9), base, step)
    tall = size_for_aspect(Aspect.of(9, 16), base, step)
    assert wide[0] > wide[1] and tall == wide[::-1]
    assert size_for_aspect(Aspect.of(1, 1), base, step) == (base, base)
    assert all(side % step == 0 for side in wide)


def test_bad_base_is_rejected():
    """A base that is not a multiple of the step is a configuration error, not a silent rounding."""
    with pytest.raises(ValueError, match="multiple of 64"):
        size_for_aspect(Aspect.of(1, 1), 500)


def test_bucket_list_is_symmetric_source():
    """Every SDXL bucket is landscape or square and close to one megapixel."""
    for w, h in SDXL_BUCKETS:
        assert w >= h and w % 64 == 0 and h % 64 == 0
        assert 0.85 <= w * h / 1024**2 <= 1.1

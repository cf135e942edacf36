"""Delivered files: PNGs carrying generation metadata, and a fallback under Discord's size limit."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from models.encode import EXIF_IMAGE_DESCRIPTION, ImageInfo, encode_image
from models.engine import Engine
from tests.models.conftest import make_spec

INFO = ImageInfo(
    prompt="a red fox", negative="blurry", seed=42, steps=20, guidance=7.0, width=64, height=64,
    model="demo", job_id="abc123",
)  # fmt: skip


def test_files_are_pngs_with_metadata(engine: Engine) -> None:
    """files() gives grid.png and 1–4.png; each carries prompt, negative, its own seed, steps, size, model, job."""
    spec = make_spec(negative="green", seed=500)
    result = engine.run(spec)
    files = result.files()
    assert list(files) == ["grid.png", "1.png", "2.png", "3.png", "4.png"]
    for name, seed in (("grid.png", 500), ("1.png", 500), ("3.png", 502)):
        image = Image.open(io.BytesIO(files[name]))
        assert image.format == "PNG"
        text = image.text
        assert text["prompt"] == "a red fox in the snow"
        assert text["negative"] == "green"
        assert text["seed"] == str(seed)
        assert text["steps"] == "4" and text["guidance"] == "7" and text["size"] == "64x64"
        assert text["model"] == engine.name and text["job_id"] == spec.id
        assert text["parameters"].startswith("a red fox in the snow\nNegative prompt: green\nSteps: 4, ")
        assert f"Seed: {seed}," in text["parameters"]
    decoded = Image.open(io.BytesIO(files["1.png"])).convert("RGB")
    assert np.array_equal(np.asarray(decoded), np.asarray(result.images[0]))


def test_a1111_parameters_layout() -> None:
    """The parameters text follows AUTOMATIC1111: prompt, 'Negative prompt:' line, then comma-separated pairs."""
    assert INFO.parameters() == (
        "a red fox\nNegative prompt: blurry\n"
        "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 42, Size: 64x64, Model: demo, Job: abc123"
    )


def test_small_images_stay_png() -> None:
    """Under the limit the file is PNG."""
    ext, data = encode_image(Image.new("RGB", (64, 64), "red"), INFO)
    assert ext == "png" and data.startswith(b"\x89PNG")


def test_oversized_png_falls_back_to_webp_with_metadata() -> None:
    """A PNG over the limit is re-encoded as WebP under the limit, with the parameters in EXIF."""
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8))
    limit = 100_000  # the noise PNG is ~197 kB
    ext, data = encode_image(noise, INFO, limit=limit)
    assert ext == "webp" and len(data) <= limit
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP"
    assert image.getexif()[EXIF_IMAGE_DESCRIPTION] == INFO.parameters()


def test_grid_over_the_limit_is_renamed(engine: Engine) -> None:
    """When the grid's PNG is too big, files() names it by its real format."""
    result = engine.run(make_spec())
    result.max_file_bytes = 8_000
    names = list(result.files())
    assert names[0] in ("grid.webp", "grid.jpg")

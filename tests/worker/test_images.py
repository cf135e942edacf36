"""worker/images.py: format and declared size are checked before any pixel is decoded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tests.faults.crafted import black_png, truncated_png
from worker.images import MAX_PIXELS, MAX_SIDE, MIN_SIDE, ImageInputError, ImageProblem, check_size, open_image


def _encoded(size: tuple[int, int], fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_accepted_formats_decode(fmt: str) -> None:
    """PNG, JPEG and WebP of an ordinary size come back decoded, with their size and format."""
    image = open_image(_encoded((96, 64), fmt))
    assert image.size == (96, 64) and image.format == fmt
    assert image.convert("RGB").getpixel((10, 10)) is not None  # pixels are there, no file behind them


def test_a_path_is_read_and_closed(tmp_path: Path) -> None:
    """A file path works like bytes, and keeps the PNG's text (the CLI reads the prompt from it)."""
    path = tmp_path / "a.png"
    image = Image.new("RGB", (MIN_SIDE, MIN_SIDE))
    info = PngInfo()
    info.add_text("prompt", "a red fox")
    image.save(path, pnginfo=info)
    loaded = open_image(path)
    assert loaded.size == (MIN_SIDE, MIN_SIDE) and loaded.info["prompt"] == "a red fox"


@pytest.mark.parametrize(
    ("size", "problem"),
    [
        ((MIN_SIDE, MIN_SIDE), None),
        ((MIN_SIDE - 1, 64), ImageProblem.TOO_SMALL),
        ((64, 1), ImageProblem.TOO_SMALL),
        ((MAX_SIDE, MIN_SIDE), None),
        ((MAX_SIDE + 1, MIN_SIDE), ImageProblem.TOO_LARGE),
        ((5792, 5792), None),  # 33,547,264 pixels: just under the cap
        ((5793, 5793), ImageProblem.TOO_LARGE),
    ],
)
def test_size_limits(size: tuple[int, int], problem: ImageProblem | None) -> None:
    """Sides from MIN_SIDE to MAX_SIDE and up to MAX_PIXELS pixels pass; the rest are refused, saying why."""
    assert 5792 * 5792 <= MAX_PIXELS < 5793 * 5793
    if problem is None:
        check_size(*size)
        return
    with pytest.raises(ImageInputError) as refused:
        check_size(*size)
    assert refused.value.problem is problem
    assert f"{size[0]}×{size[1]}" in refused.value.message


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (black_png(16000, 16000), ImageProblem.TOO_LARGE),  # over PIL's own bomb limit
        (black_png(12000, 12000), ImageProblem.TOO_LARGE),  # under it, yet 144 megapixels
        (b"GIF89a" + bytes(64), ImageProblem.FORMAT),
        (_encoded((64, 64), "GIF"), ImageProblem.FORMAT),
        (_encoded((64, 64), "BMP"), ImageProblem.FORMAT),
        (b"", ImageProblem.FORMAT),
        (truncated_png(), ImageProblem.UNREADABLE),
    ],
)
def test_refused_before_decoding(data: bytes, problem: ImageProblem) -> None:
    """Bombs, other formats, non-images and damaged files raise ImageInputError with their problem."""
    with pytest.raises(ImageInputError) as refused:
        open_image(data)
    assert refused.value.problem is problem
    assert refused.value.message.startswith("The image ")


def test_missing_file(tmp_path: Path) -> None:
    """A path with nothing there is unreadable, and says why."""
    with pytest.raises(ImageInputError) as refused:
        open_image(tmp_path / "nowhere.png")
    assert refused.value.problem is ImageProblem.UNREADABLE
    assert "No such file" in refused.value.message

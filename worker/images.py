"""The one check on an image handed to us (a file given to the CLI, a stored cell a follow-up starts from).

PIL's ``Image.open`` reads only the header; pixels are decoded by ``load()``/``convert()``. So the format and the
declared size are checked first, and only an image that passes is decoded: a 17 KB PNG declaring 12000×12000
pixels is refused in milliseconds instead of costing a minute and a gigabyte. No torch here: the CLI checks an
image before it loads the model.
"""

from __future__ import annotations

import io
import warnings
from enum import StrEnum
from pathlib import Path

from PIL import Image, UnidentifiedImageError

# Decoders we accept, by PIL format name: what the engine writes (PNG, or WebP/JPEG when PNG is too big for
# Discord) and what people have. Others (GIF, TIFF, BMP, PSD…) are never parsed past identification.
FORMATS = ("PNG", "JPEG", "WEBP")

# One latent cell: the VAE downsamples 8×, so a smaller side has no latent at all (and an upscale's size,
# trimmed to multiples of 8, would be 0).
MIN_SIDE = 8
# Four times the largest picture the engine writes (an SDXL upscale, 2048 px).
MAX_SIDE = 8192
# 32 Mi pixels (e.g. 6688×5016; a 12 MP phone photo fits): about 100 MB decoded as RGB.
MAX_PIXELS = 32 * 2**20


class ImageProblem(StrEnum):
    """Why an image was refused (machine-readable; the message says it for people)."""

    UNREADABLE = "unreadable"  # the file cannot be read, or its pixels do not decode (truncated, corrupt)
    FORMAT = "format"  # not a PNG, JPEG or WebP image (or no image at all)
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"  # a side over MAX_SIDE or more than MAX_PIXELS pixels, as its header declares


class ImageInputError(Exception):
    """An image we will not decode or use; ``message`` is for the user, ``problem`` for code."""

    def __init__(self, problem: ImageProblem, message: str):
        super().__init__(message)
        self.problem = problem
        self.message = message


def open_image(source: bytes | Path) -> Image.Image:
    """Check an image's format and declared size, then decode it; raises ImageInputError."""
    try:
        with warnings.catch_warnings():
            # PIL warns (DecompressionBombWarning) above its own limit, far above ours: the check below refuses.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source, formats=FORMATS)
    except Image.DecompressionBombError:  # declared over twice PIL's limit: refused before we see the size
        raise ImageInputError(ImageProblem.TOO_LARGE, _too_many_pixels("The image has")) from None
    except UnidentifiedImageError:
        raise ImageInputError(ImageProblem.FORMAT, "The image is not a PNG, JPEG or WebP file.") from None
    except OSError as exc:
        raise ImageInputError(ImageProblem.UNREADABLE, f"The image cannot be read: {exc.strerror or exc}.") from None
    with image:
        check_size(*image.size)
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
            # PIL reports truncated data as OSError, a broken PNG chunk as SyntaxError, oversized text chunks as
            # ValueError: all mean the file is damaged.
            raise ImageInputError(
                ImageProblem.UNREADABLE, "The image cannot be decoded: the file is truncated or damaged."
            ) from None
        return image


def check_size(width: int, height: int) -> None:
    """Refuse sizes the engine cannot use or that would cost too much memory to decode; raises ImageInputError."""
    if min(width, height) < MIN_SIDE:
        raise ImageInputError(
            ImageProblem.TOO_SMALL,
            f"The image is {width}×{height} pixels; it needs at least {MIN_SIDE} pixels on each side.",
        )
    if max(width, height) > MAX_SIDE:
        raise ImageInputError(
            ImageProblem.TOO_LARGE,
            f"The image is {width}×{height} pixels; the largest accepted is {MAX_SIDE} pixels on a side.",
        )
    if width * height > MAX_PIXELS:
        raise ImageInputError(ImageProblem.TOO_LARGE, _too_many_pixels(f"The image is {width}×{height}, which is"))


def _too_many_pixels(subject: str) -> str:
    return f"{subject} more than {MAX_PIXELS / 1e6:.1f} megapixels, the most accepted; make it smaller first."

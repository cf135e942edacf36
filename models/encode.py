"""Image files for delivery: PNG with generation metadata, kept under Discord's attachment limit.

Every PNG carries one text chunk per field (``prompt``, ``negative``, ``seed``, ``steps``, ``guidance``,
``size``, ``model``, ``job_id``, ``sampler``) plus ``parameters`` in the AUTOMATIC1111 layout that image
browsers and "PNG info" tools read. A PNG over the limit (a noisy 2048² SDXL grid can be ~12 MiB) is
re-encoded as lossy WebP (quality 92, then lower), then JPEG as a last resort; those carry the A1111
``parameters`` text in the EXIF ImageDescription tag, since they have no PNG text chunks.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, PngImagePlugin

DISCORD_LIMIT = 10 * 1024 * 1024
EXIF_IMAGE_DESCRIPTION = 0x010E
_WEBP_QUALITIES = (92, 80, 65)
_JPEG_QUALITIES = (90, 75, 60)


@dataclass(frozen=True)
class ImageInfo:
    """How one image was made: enough to read it back and to regenerate it."""

    prompt: str
    negative: str
    seed: int
    steps: int
    guidance: float
    width: int
    height: int
    model: str
    job_id: str
    sampler: str = "DPM++ 2M Karras"
    # img2img strength of variations and upscales; None for images made from noise.
    strength: float | None = None

    def fields(self) -> dict[str, str]:
        """The PNG text chunks, one per field."""
        return {
            "prompt": self.prompt,
            "negative": self.negative,
            "seed": str(self.seed),
            "steps": str(self.steps),
            "guidance": f"{self.guidance:g}",
            "size": f"{self.width}x{self.height}",
            "model": self.model,
            "job_id": self.job_id,
            "sampler": self.sampler,
        } | ({} if self.strength is None else {"strength": f"{self.strength:g}"})

    def parameters(self) -> str:
        """The AUTOMATIC1111 ``parameters`` text: prompt, negative prompt line, then key: value pairs."""
        lines = [self.prompt]
        if self.negative:
            lines.append(f"Negative prompt: {self.negative}")
        lines.append(
            f"Steps: {self.steps}, Sampler: {self.sampler}, CFG scale: {self.guidance:g}, Seed: {self.seed}, "
            f"Size: {self.width}x{self.height}, Model: {self.model}, Job: {self.job_id}"
            + ("" if self.strength is None else f", Denoising strength: {self.strength:g}")
        )
        return "\n".join(lines)


def encode_image(image: Image.Image, info: ImageInfo, limit: int = DISCORD_LIMIT) -> tuple[str, bytes]:
    """(file extension, bytes): PNG with metadata, or WebP/JPEG when the PNG is over ``limit`` bytes.

    Raises ValueError if even the smallest JPEG is over the limit.
    """
    data = png_bytes(image, info)
    if len(data) <= limit:
        return "png", data
    exif = Image.Exif()
    exif[EXIF_IMAGE_DESCRIPTION] = info.parameters()
    rgb = image.convert("RGB")
    for fmt, ext, qualities in (("WEBP", "webp", _WEBP_QUALITIES), ("JPEG", "jpg", _JPEG_QUALITIES)):
        for quality in qualities:
            buffer = io.BytesIO()
            rgb.save(buffer, format=fmt, quality=quality, exif=exif.tobytes())
            if buffer.tell() <= limit:
                return ext, buffer.getvalue()
    raise ValueError(f"image {image.size} does not fit in {limit} bytes even as JPEG")


def png_bytes(image: Image.Image, info: ImageInfo) -> bytes:
    """The image as PNG with ``info`` in text chunks (fast compression: size matters less than latency)."""
    text = PngImagePlugin.PngInfo()
    for key, value in info.fields().items():
        text.add_itxt(key, value)
    text.add_itxt("parameters", info.parameters())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=text, compress_level=4)
    return buffer.getvalue()

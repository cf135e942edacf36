"""Crafted image files for the bad-input tests: tiny on disk, whatever they claim to be."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def black_png(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of width×height black pixels; 12000×12000 is about 20 KB."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte "none", then the row's bits
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale, no interlace
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def truncated_png(width: int = 64, height: int = 64) -> bytes:
    """A PNG whose header is fine but whose pixel data stops half way."""
    whole = black_png(width, height)
    start = whole.index(b"IDAT") + 4
    return whole[: start + 8]

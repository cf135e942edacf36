"""The 2×2 grid: four cells in reading order (1 2 / 3 4), the way the bot's U1–U4 / V1–V4 buttons count."""

from __future__ import annotations

from PIL import Image


def make_grid(cells: list[Image.Image]) -> Image.Image:
    """Paste four same-size cells into one image twice as wide and high; raises ValueError otherwise."""
    if len(cells) != 4:
        raise ValueError(f"a grid needs 4 images, got {len(cells)}")
    width, height = cells[0].size
    if any(cell.size != (width, height) for cell in cells):
        raise ValueError(f"grid cells differ in size: {[cell.size for cell in cells]}")
    grid = Image.new("RGB", (2 * width, 2 * height))
    for index, cell in enumerate(cells):
        grid.paste(cell.convert("RGB"), ((index % 2) * width, (index // 2) * height))
    return grid

"""What the engine hands back: the finished images (progress reports are the worker's ``Progress``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from PIL import Image

from models.encode import DISCORD_LIMIT, ImageInfo, encode_image
from models.grid import make_grid

GRID_SIZE = 4


@dataclass
class EngineResult:
    """Four cells and their 2×2 grid (or one image and no grid for an upscale), with how they were made.

    ``infos[i]`` describes ``images[i]`` (cell i+1 has seed ``seed + i``); ``timings`` holds seconds per
    stage (``encode_prompt``, ``denoise``, ``decode``, ``grid``).
    """

    images: list[Image.Image]
    grid: Image.Image | None
    seed: int
    width: int
    height: int
    seconds: float
    model: str
    infos: list[ImageInfo] = field(default_factory=list)
    grid_info: ImageInfo | None = None
    timings: dict[str, float] = field(default_factory=dict)
    max_file_bytes: int = DISCORD_LIMIT

    @classmethod
    def collect(
        cls, images: list[Image.Image], info: ImageInfo, timings: dict[str, float], started: float, max_file_bytes: int
    ) -> EngineResult:
        """The finished cells (cell i made from seed ``info.seed + i``) and, for four, their 2×2 grid.

        Records the grid's time in ``timings["grid"]``; ``seconds`` runs from ``started``.
        """
        clock = time.perf_counter()
        grid = make_grid(images) if len(images) == GRID_SIZE else None
        timings["grid"] = time.perf_counter() - clock
        return cls(
            images=images,
            grid=grid,
            seed=info.seed,
            width=info.width,
            height=info.height,
            seconds=time.perf_counter() - started,
            model=info.model,
            infos=[replace(info, seed=info.seed + i) for i in range(len(images))],
            grid_info=info if grid is not None else None,
            timings=timings,
            max_file_bytes=max_file_bytes,
        )

    def files(self) -> dict[str, bytes]:
        """Encoded files with metadata: ``grid.png`` (grids only) and ``1.png``…; WebP/JPEG names when too big.

        Records the encoding time in ``timings["files"]``.
        """
        started = time.perf_counter()
        files: dict[str, bytes] = {}
        if self.grid is not None and self.grid_info is not None:
            ext, data = encode_image(self.grid, self.grid_info, self.max_file_bytes)
            files[f"grid.{ext}"] = data
        for index, (image, info) in enumerate(zip(self.images, self.infos, strict=True), start=1):
            ext, data = encode_image(image, info, self.max_file_bytes)
            files[f"{index}.{ext}"] = data
        self.timings["files"] = time.perf_counter() - started
        return files

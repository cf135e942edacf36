"""Fixtures for the tiny transformer families: each saved once per session, and a small call helper."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import (
    AutoPipelineForImage2Image,
    AutoPipelineForInpainting,
    DiffusionPipeline,
    Flux2KleinInpaintPipeline,
    Flux2KleinPipeline,
    FluxImg2ImgPipeline,
    FluxInpaintPipeline,
    FluxPipeline,
    StableDiffusion3Img2ImgPipeline,
    StableDiffusion3InpaintPipeline,
    StableDiffusion3Pipeline,
    ZImageImg2ImgPipeline,
    ZImageInpaintPipeline,
    ZImagePipeline,
)
from PIL import Image

from models.tiny_families import flux, flux2_klein, sd3, z_image

# Non-square and a multiple of 16 (every family's size step), so a swapped width/height shows.
WIDTH, HEIGHT = 80, 48
STEPS = 2


@dataclass(frozen=True)
class FamilyCase:
    """One tiny family variant: how to save it, the pipeline classes it must load as and switch to."""

    id: str
    save: Callable[[Path], Path]
    pipeline: type[DiffusionPipeline]
    img2img: type[DiffusionPipeline]
    inpaint: type[DiffusionPipeline]
    # Img2img knobs the family's image pipeline takes: klein edits from a reference image, with no strength.
    img2img_kwargs: dict[str, Any] = field(default_factory=lambda: {"strength": 0.6})
    # Size of the img2img input; FLUX.2 refuses reference images under 64 px a side.
    reference_size: tuple[int, int] = (WIDTH, HEIGHT)

    def to_inpaint(self, pipe: DiffusionPipeline) -> DiffusionPipeline:
        """The family's inpaint pipeline on the same modules (klein's is not in AutoPipelineForInpainting)."""
        if self.inpaint is Flux2KleinInpaintPipeline:
            return Flux2KleinInpaintPipeline.from_pipe(pipe)
        return AutoPipelineForInpainting.from_pipe(pipe)

    @staticmethod
    def to_img2img(pipe: DiffusionPipeline) -> DiffusionPipeline:
        return AutoPipelineForImage2Image.from_pipe(pipe)


CASES = [
    *(
        FamilyCase(
            f"sd{v}",
            lambda p, v=v: sd3.save_sd3(p, v),
            StableDiffusion3Pipeline,
            StableDiffusion3Img2ImgPipeline,
            StableDiffusion3InpaintPipeline,
        )
        for v in sd3.VARIANTS
    ),
    *(
        FamilyCase(
            f"flux-{v}", lambda p, v=v: flux.save_flux(p, v), FluxPipeline, FluxImg2ImgPipeline, FluxInpaintPipeline
        )
        for v in flux.VARIANTS
    ),
    *(
        FamilyCase(
            f"flux2-klein-{v}",
            lambda p, v=v: flux2_klein.save_flux2_klein(p, v),
            Flux2KleinPipeline,
            Flux2KleinPipeline,
            Flux2KleinInpaintPipeline,
            img2img_kwargs={},
            reference_size=(64, 64),
        )
        for v in flux2_klein.VARIANTS
    ),
    FamilyCase("z-image", z_image.save_z_image, ZImagePipeline, ZImageImg2ImgPipeline, ZImageInpaintPipeline),
]
CASES_BY_ID = {case.id: case for case in CASES}


@pytest.fixture(scope="session")
def family_dirs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[FamilyCase], Path]:
    """Saves each case's folder the first time a test asks for it."""
    root = tmp_path_factory.mktemp("families")
    saved: dict[str, Path] = {}

    def folder(case: FamilyCase) -> Path:
        if case.id not in saved:
            saved[case.id] = case.save(root / case.id)
        return saved[case.id]

    return folder


@pytest.fixture(scope="session")
def loaded(family_dirs: Callable[[FamilyCase], Path]) -> Callable[[str], DiffusionPipeline]:
    """Each case's folder loaded once through ``DiffusionPipeline.from_pretrained``."""
    pipes: dict[str, DiffusionPipeline] = {}

    def load(case_id: str) -> DiffusionPipeline:
        if case_id not in pipes:
            pipes[case_id] = DiffusionPipeline.from_pretrained(family_dirs(CASES_BY_ID[case_id]))
            pipes[case_id].set_progress_bar_config(disable=True)
        return pipes[case_id]

    return load


def generate(pipe: DiffusionPipeline, seed: int = 0, **kwargs: Any) -> Any:
    """One image (PIL unless ``output_type`` says otherwise) at the test size in two steps.

    The prompt goes by keyword: klein's first positional argument is the reference image.
    """
    values: dict[str, Any] = {"prompt": "a red fox in the snow", "height": HEIGHT, "width": WIDTH}
    values.update(kwargs)
    generator = torch.Generator("cpu").manual_seed(seed)
    return pipe(num_inference_steps=STEPS, generator=generator, **values).images[0]


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255


def distance(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference in [0, 1]."""
    return float(np.abs(pixels(a) - pixels(b)).mean())


def gradient_image(size: tuple[int, int] = (WIDTH, HEIGHT)) -> Image.Image:
    """A fixed colour gradient (test size unless told), the input of the img2img and inpaint tests."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb)


def centre_mask() -> Image.Image:
    """White (repaint) in the middle, black (keep) around it."""
    mask = Image.new("L", (WIDTH, HEIGHT), 0)
    mask.paste(255, (WIDTH // 4, HEIGHT // 4, 3 * WIDTH // 4, 3 * HEIGHT // 4))
    return mask

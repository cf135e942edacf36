"""What the four flow-matching transformer families (SD3, FLUX.1, FLUX.2 klein, Z-Image) share.

* Sampling: their published scheduler, flow-matching Euler, kept as shipped (same config and sigmas) but as
  ``FlowMatchEulerWithEstimate``, which also records each step's clean-image estimate for --stop and previews.
* Sizes: an 8× VAE under a 2×2 patchifying transformer, so sides are multiples of 16 px (``size_step`` and the
  hard ``pixel_multiple``); native 1024×1024, about 1 MP (worker/sizes.py); the longest side is 4 × base unless the
  family's positional embeddings end sooner.
* Latents: ``(z - shift_factor) · scaling_factor`` for the 16-channel VAE of SD3, FLUX.1 and Z-Image.
* No --tile: circular padding needs convolutions; these denoisers are transformers over patch tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

# From the defining modules: to a type checker, diffusers' top-level names are placeholder classes (see loader.py).
from diffusers.pipelines.auto_pipeline import AutoPipelineForImage2Image, AutoPipelineForInpainting
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from PIL import Image
from torch import nn

from models.families.base import MAX_SIDE_PER_BASE
from models.sampling import FlowMatchEulerWithEstimate
from worker.sizes import BASE_RESOLUTION, SIZE_STEP
from worker.spec import Strength

SAMPLER = "Euler (flow matching)"
# Upscale img2img strength: a nominal strength t starts these schedules at σ = shift·t / (1 + (shift − 1)·t), far
# noisier than on SD's (at shift 3, 0.25 starts at σ 0.5). These start at the noise of the demo model's measured
# choice (base.UPSCALE_STRENGTH, bench/upscale.py's start σ column) on a shift-3 schedule (SD3/3.5, Z-Image); FLUX.1
# [dev] and FLUX.2 [klein] shift more with image size, so there they are still stronger than intended.
UPSCALE_STRENGTH: Mapping[Strength, float] = {Strength.SUBTLE: 0.04, Strength.CREATIVE: 0.08}


def use_flow_scheduler(pipe: DiffusionPipeline) -> None:
    """The shipped flow-matching Euler scheduler, rebuilt from its own config as the estimate-keeping subclass."""
    pipe.scheduler = FlowMatchEulerWithEstimate.from_config(pipe.scheduler.config)


def siblings(pipe: DiffusionPipeline) -> tuple[DiffusionPipeline, DiffusionPipeline]:
    """The family's image-to-image and inpaint pipelines on ``pipe``'s modules (diffusers' auto pipelines)."""
    img2img = AutoPipelineForImage2Image.from_pipe(pipe)
    inpaint = AutoPipelineForInpainting.from_pipe(pipe)
    for sibling in (img2img, inpaint):
        sibling.set_progress_bar_config(disable=True)
    return img2img, inpaint


def sizes(family: str, limit: int | None = None) -> tuple[int, int, int]:
    """(base_resolution, size_step, max_side) of a flow family; ``limit`` is a hard cap from its positions."""
    base = BASE_RESOLUTION[family]
    longest = MAX_SIDE_PER_BASE * base
    return base, SIZE_STEP[family], longest if limit is None else min(longest, limit)


def decode_shifted(vae: Any, latents: torch.Tensor) -> torch.Tensor:
    """Latents as the transformer sees them, ``(z - shift) · scale``, back through the VAE to pixels."""
    z = latents.to(vae.device, vae.dtype) / vae.config.scaling_factor + vae.config.shift_factor
    return vae.decode(z, return_dict=False)[0]


class LatentImagePipelines:
    """What SD3 and Z-Image share as adapters: their pipelines take a guidance scale, the size, and for img2img
    the images with a strength; latents come back unpacked and decode with the VAE's shift."""

    pipe: Any

    def call_kwargs(
        self, guidance: float, width: int, height: int, images: list[Image.Image] | None, strength: float | None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"guidance_scale": guidance, "width": width, "height": height}
        if images is not None:
            kwargs.update(image=images, strength=strength)
        return kwargs

    def decode(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        return decode_shifted(self.pipe.vae, latents)

    def spatial(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        return latents

    def tile_modules(self) -> tuple[nn.Module, ...]:
        return ()

"""Stable Diffusion 1.x, 2.x, SDXL and the bundled demo model: a UNet on a 4-channel 8× VAE, CLIP text embeddings.

The engine's original family, moved here unchanged. Flags:

- --stylize → classifier-free guidance on ``SD_GUIDANCE`` (9.0 at 0, 7.0 at 100, 4.0 at 1000) plus the house style
  blended into the prompt embedding (models/prompting.py).
- ``::`` weights → weighted average of each part's embeddings; negative weights join the negative side.
- --no → the negative prompt (with the configured default negative); SDXL's empty negative is all zeros.
- --chaos → seeded noise on each image's prompt embedding. --stop → DPM-Solver++'s clean estimate, decoded early.
- --quality → steps (20 at --quality 1: the project's long-standing IMAGINE_STEPS default for DPM-Solver++ 2M).
- --tile → circular padding in the UNet's and the VAE's convolutions (models/tiling.py).

Sampling is DPM-Solver++ (2M, Karras sigmas by default): good pictures in ~20 steps, deterministic.
"""

from __future__ import annotations

from typing import Any

import torch

# From the defining modules: to a type checker, diffusers' top-level names are placeholder classes (see loader.py).
from diffusers.pipelines.auto_pipeline import AutoPipelineForImage2Image, AutoPipelineForInpainting
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline
from diffusers.pipelines.stable_diffusion_xl.pipeline_stable_diffusion_xl import StableDiffusionXLPipeline
from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler
from PIL import Image
from torch import nn

from models.families.base import MAX_SIDE_PER_BASE, FamilyFacts, Registration
from models.preview import projection_for
from models.prompting import Conditioning, build_conditioning
from models.settings import EngineSettings
from worker.cards import Capabilities
from worker.sizes import BASE_RESOLUTION, SIZE_STEP
from worker.spec import SD_GUIDANCE, PromptFields

DEFAULT_STEPS = 20
LABELS = {"sd1": "Stable Diffusion 1.x", "sd2": "Stable Diffusion 2.x", "sdxl": "SDXL", "demo": "the demo model"}


class StableDiffusion:
    """A loaded SD 1/2/XL (or demo) pipeline, its img2img and inpaint twins, and the family's facts."""

    def __init__(self, pipe: StableDiffusionPipeline | StableDiffusionXLPipeline, settings: EngineSettings, name: str):
        family = "demo" if name == "demo" else detect_family(pipe)
        # DPM-Solver++ (2M): good pictures in ~20 steps, deterministic (no noise injected while sampling).
        pipe.scheduler = DPMSolverMultistepScheduler.from_config(
            pipe.scheduler.config, algorithm_type="dpmsolver++", use_karras_sigmas=settings.karras_sigmas
        )
        self.pipe: Any = pipe
        # Every module object is reused: one copy of the weights in memory.
        self.img2img: Any = AutoPipelineForImage2Image.from_pipe(pipe)
        self.inpaint: Any = AutoPipelineForInpainting.from_pipe(pipe)
        for sibling in (self.img2img, self.inpaint):
            sibling.set_progress_bar_config(disable=True)
        base = base_resolution(family, pipe)
        self.facts = FamilyFacts(
            family=family,
            label=LABELS[family],
            base_resolution=base,
            size_step=SIZE_STEP[family],
            pixel_multiple=pipe.vae_scale_factor,
            max_side=MAX_SIDE_PER_BASE * base,
            default_steps=DEFAULT_STEPS,
            guidance=SD_GUIDANCE,
            capabilities=Capabilities(),
            sampler="DPM++ 2M Karras" if settings.karras_sigmas else "DPM++ 2M",
        )
        self.projection = projection_for(family, pipe.vae)

    def encode(self, fields: PromptFields, seed: int, batch: int, settings: EngineSettings) -> Conditioning:
        # Always through the text-to-image pipeline: same encoders, one tokenization path for every job kind.
        return build_conditioning(self.pipe, fields, seed, batch, settings)

    def call_kwargs(
        self, guidance: float, width: int, height: int, images: list[Image.Image] | None, strength: float | None
    ) -> dict[str, Any]:
        if images is None:
            return {"guidance_scale": guidance, "width": width, "height": height}
        # SD's img2img takes its size from the image.
        return {"guidance_scale": guidance, "image": images, "strength": strength}

    def decode(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        vae = self.pipe.vae
        # An fp16 SDXL VAE overflows to NaN; such VAEs say so with force_upcast, and decode in fp32.
        upcast = vae.dtype == torch.float16 and bool(getattr(vae.config, "force_upcast", False))
        if upcast:
            vae.to(torch.float32)
        try:
            latents = latents.to(vae.device, vae.dtype)
            mean, std = getattr(vae.config, "latents_mean", None), getattr(vae.config, "latents_std", None)
            if mean is not None and std is not None:
                # VAEs that normalise their latents per channel (e.g. Playground's SDXL VAE) are un-normalised first.
                shape = (1, len(mean), 1, 1)
                mean_t = torch.tensor(mean).view(shape).to(latents)
                std_t = torch.tensor(std).view(shape).to(latents)
                return vae.decode(latents * std_t / vae.config.scaling_factor + mean_t, return_dict=False)[0]
            return vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]
        finally:
            if upcast:
                vae.to(torch.float16)

    def spatial(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        return latents

    def tile_modules(self) -> tuple[nn.Module, ...]:
        return (self.pipe.unet, self.pipe.vae)


def detect_family(pipe: DiffusionPipeline) -> str:
    """ "sd1", "sd2" or "sdxl", from the pipeline class and the UNet's conditioning."""
    config = pipe.unet.config
    if isinstance(pipe, StableDiffusionXLPipeline) or config.addition_embed_type == "text_time":
        return "sdxl"
    if config.cross_attention_dim == 2048:
        return "sdxl"
    if config.cross_attention_dim == 1024:
        return "sd2"
    # 768 is SD1.x; anything else (custom or toy widths) is treated as SD1-like.
    return "sd1"


def base_resolution(family: str, pipe: DiffusionPipeline) -> int:
    """The family's native size; SD2 comes as 768 px (v) and 512 px (base) models, told apart by the UNet."""
    if family == "sd2" and pipe.unet.config.sample_size * pipe.vae_scale_factor == 512:
        return 512
    return BASE_RESOLUTION[family]


REGISTRATION = Registration(
    name="Stable Diffusion 1/2/XL",
    pipelines=(StableDiffusionPipeline, StableDiffusionXLPipeline),
    adapter=StableDiffusion,
    transformer=False,
)

"""FLUX.2 [klein] 4B / 9B (``Flux2KleinPipeline``): an MMDiT on the 32-channel FLUX.2 VAE, Qwen3 text tokens.

The variant is the pipeline's ``is_distilled``: the published klein checkpoints are step-distilled (no guidance);
the "base" checkpoints run real CFG against an empty prompt. Published use (models/tiny_families/flux2_klein.py has
the family's notes; sources: the black-forest-labs/flux2 README, the FLUX.2-klein-4B model_index.json, the diffusers
``Flux2KleinPipeline`` docstring example and fal.ai's defaults): native 1024×1024; distilled 4 steps, guidance
unused; base about 50 steps at ``guidance_scale=4.0``. Flags:

- --stylize → distilled: a flat guidance curve at 0 (the pipeline ignores it); base: CFG on 5.5 / 4.0 / 2.5 (4.0
  published, the ends the house's choice). Both: the house style blended into the prompt embedding.
- ``::`` weights → weighted average of the parts' Qwen3 tokens (padded to 512, so equal length).
- --no and negative weights → base only (``negative_prompt_embeds``; the pipeline takes no negative text, so the
  engine encodes it); refused on the distilled checkpoints, which run no CFG.
- --chaos → seeded noise on each image's tokens. --stop → the flow-matching clean estimate, decoded early.
- --quality → steps. --tile → refused.
- Variations and upscales: ``Flux2KleinInpaintPipeline`` with an all-white mask, i.e. strength-based img2img (the
  source also joins as a reference image). diffusers' auto img2img for klein is ``Flux2KleinPipeline`` itself,
  whose reference-image editing has no strength, so it could not tell strong from subtle.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import torch

# From the defining modules: to a type checker, diffusers' top-level names are placeholder classes (see loader.py).
from diffusers.pipelines.flux2.pipeline_flux2_klein import Flux2KleinPipeline
from diffusers.pipelines.flux2.pipeline_flux2_klein_inpaint import Flux2KleinInpaintPipeline
from PIL import Image
from torch import nn

from models.families import flow
from models.families.base import FamilyFacts, Registration
from models.preview import fit_decoder
from models.prompting import Conditioning, Encoded, condition
from models.settings import EngineSettings
from worker.cards import Capabilities
from worker.spec import GuidanceCurve, PromptFields

MAX_SEQUENCE_LENGTH = 512
# The VAE's own 2×2 patchify: one token (128 values) per 16×16 pixels.
TOKEN_PIXELS = 16
# variant → (label, recommended steps, guidance curve)
VARIANTS: dict[str, tuple[str, int, GuidanceCurve]] = {
    "distilled": ("FLUX.2 [klein]", 4, GuidanceCurve(at_0=0, at_100=0, at_1000=0)),
    "base": ("FLUX.2 [klein] base", 50, GuidanceCurve(at_0=5.5, at_100=4.0, at_1000=2.5)),
}


class Flux2Klein:
    """A loaded FLUX.2 klein pipeline, its inpaint twin (which also serves img2img), and the family's facts."""

    def __init__(self, pipe: Flux2KleinPipeline, settings: EngineSettings, name: str):
        flow.use_flow_scheduler(pipe)
        self.pipe: Any = pipe
        # DiffusionPipeline.from_pipe casts the shared modules to its dtype argument, fp32 unless told otherwise (and
        # warns, needlessly, that klein's modules keep none in fp32).
        with _quiet("diffusers.models.modeling_utils"):
            self.inpaint: Any = Flux2KleinInpaintPipeline.from_pipe(pipe, dtype=pipe.transformer.dtype)
        self.inpaint.set_progress_bar_config(disable=True)
        self.img2img: Any = self.inpaint
        self.variant = "distilled" if pipe.config["is_distilled"] else "base"
        label, steps, curve = VARIANTS[self.variant]
        base, step, longest = flow.sizes("flux2-klein")
        self.facts = FamilyFacts(
            family="flux2-klein",
            label=label,
            base_resolution=base,
            size_step=step,
            pixel_multiple=step,
            max_side=longest,
            default_steps=steps,
            guidance=curve,
            capabilities=Capabilities(negative_prompt=self.variant == "base", tile=False),
            sampler=flow.SAMPLER,
            upscale_strength=flow.UPSCALE_STRENGTH,
        )
        channels = 4 * pipe.vae.config.latent_channels
        self.projection = fit_decoder(self._decode_tokens, channels, TOKEN_PIXELS, size=8 * TOKEN_PIXELS)

    def encode(self, fields: PromptFields, seed: int, batch: int, settings: EngineSettings) -> Conditioning:
        return condition(self._encode_texts, fields, seed, batch, settings, negatives=self.variant == "base")

    def _encode_texts(self, texts: list[str]) -> Encoded:
        embeds, _ = self.pipe.encode_prompt(
            prompt=texts,
            device=self.pipe._execution_device,
            num_images_per_prompt=1,
            max_sequence_length=MAX_SEQUENCE_LENGTH,
        )
        return Encoded(embeds=embeds, pooled=None)

    def call_kwargs(
        self, guidance: float, width: int, height: int, images: list[Image.Image] | None, strength: float | None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"guidance_scale": guidance, "width": width, "height": height}
        if images is not None:
            white = [Image.new("L", image.size, 255) for image in images]  # repaint everything: img2img
            kwargs.update(image=images, mask_image=white, strength=strength)
        return kwargs

    def decode(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        # The pipeline's latent output is already unpacked, un-normalised and unpatchified: the VAE's own latents.
        vae = self.pipe.vae
        return vae.decode(latents.to(vae.device, vae.dtype), return_dict=False)[0]

    def spatial(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        # Tokens in row-major order, [B, h · w, 128] → [B, 128, h, w] at one token per 16×16 pixels.
        rows, columns = height // TOKEN_PIXELS, width // TOKEN_PIXELS
        return latents.permute(0, 2, 1).reshape(latents.shape[0], -1, rows, columns)

    def tile_modules(self) -> tuple[nn.Module, ...]:
        return ()

    def _decode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Normalised, patchified latents ([B, 128, h, w], as the transformer sees them) → pixels."""
        vae = self.pipe.vae
        tokens = tokens.to(vae.device, vae.dtype)
        mean = vae.bn.running_mean.view(1, -1, 1, 1).to(tokens)
        std = torch.sqrt(vae.bn.running_var.view(1, -1, 1, 1) + vae.config.batch_norm_eps).to(tokens)
        return vae.decode(Flux2KleinPipeline._unpatchify_latents(tokens * std + mean), return_dict=False)[0]


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


REGISTRATION = Registration(name="FLUX.2 klein", pipelines=(Flux2KleinPipeline,), adapter=Flux2Klein, transformer=True)

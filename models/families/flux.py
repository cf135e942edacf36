"""FLUX.1 [schnell] and [dev] (``FluxPipeline``): a 12B MMDiT on a 16-channel VAE, CLIP-L pooled + T5-XXL tokens.

The variant is the transformer's ``guidance_embeds``: dev embeds the guidance scale (guidance-distilled), schnell has
no guidance input (timestep-distilled). Published use (models/tiny_families/flux.py has the family's notes; sources:
the diffusers Flux pipeline docs and the black-forest-labs/FLUX.1-schnell and FLUX.1-dev model cards): native
1024×1024; schnell 1–4 steps at ``guidance_scale=0`` and at most 256 T5 tokens; dev 28–50 steps at 3.5 (the pipeline's
default is 28 steps, the docs' example 50). Flags:

- --stylize → dev: the embedded guidance on the curve 5.0 / 3.5 / 2.0 (3.5 published at --stylize 100, the ends
  the house's choice); schnell: a flat curve at 0 (no guidance input). Both: the house style blended into the
  prompt embedding, so --stylize changes schnell's pictures too.
- ``::`` weights → weighted average of each part's T5 tokens (padded to a fixed length) and pooled CLIP vectors.
- --no and negative weights → refused: neither variant runs classic CFG. With ``IMAGINE_TRUE_CFG_SCALE`` above 1 the
  pipeline's "true CFG" runs a second, negative pass per step (twice the time) and --no works.
- --chaos → seeded noise on each image's embeddings. --stop → the flow-matching clean estimate, decoded early.
- --quality → steps. --tile → refused. Variations and upscales: ``FluxImg2ImgPipeline``.
"""

from __future__ import annotations

from typing import Any

import torch

# From the defining modules: to a type checker, diffusers' top-level names are placeholder classes (see loader.py).
from diffusers.pipelines.flux.pipeline_flux import FluxPipeline
from PIL import Image
from torch import nn

from models.families import flow
from models.families.base import FamilyFacts, Registration
from models.preview import fit_projection
from models.prompting import Conditioning, Encoded, condition
from models.settings import EngineSettings
from worker.cards import Capabilities
from worker.spec import GuidanceCurve, PromptFields

# variant → (label, recommended steps, guidance curve, T5 tokens read)
VARIANTS: dict[str, tuple[str, int, GuidanceCurve, int]] = {
    "schnell": ("FLUX.1 [schnell]", 4, GuidanceCurve(at_0=0, at_100=0, at_1000=0), 256),
    "dev": ("FLUX.1 [dev]", 28, GuidanceCurve(at_0=5.0, at_100=3.5, at_1000=2.0), 512),
}


class Flux:
    """A loaded FLUX.1 pipeline, its img2img and inpaint twins, and the family's facts."""

    def __init__(self, pipe: FluxPipeline, settings: EngineSettings, name: str):
        flow.use_flow_scheduler(pipe)
        self.pipe: Any = pipe
        self.img2img, self.inpaint = flow.siblings(pipe)
        self.variant = "dev" if pipe.transformer.config.guidance_embeds else "schnell"
        label, steps, curve, self.max_sequence_length = VARIANTS[self.variant]
        self.true_cfg_scale = settings.true_cfg_scale
        base, step, longest = flow.sizes("flux")
        self.facts = FamilyFacts(
            family="flux",
            label=label,
            base_resolution=base,
            size_step=step,
            pixel_multiple=step,
            max_side=longest,
            default_steps=steps,
            guidance=curve,
            capabilities=Capabilities(negative_prompt=self.true_cfg, tile=False),
            sampler=flow.SAMPLER,
            upscale_strength=flow.UPSCALE_STRENGTH,
        )
        self.projection = fit_projection(pipe.vae)

    @property
    def true_cfg(self) -> bool:
        """Whether a negative pass runs (IMAGINE_TRUE_CFG_SCALE above 1)."""
        return self.true_cfg_scale > 1

    def encode(self, fields: PromptFields, seed: int, batch: int, settings: EngineSettings) -> Conditioning:
        return condition(self._encode_texts, fields, seed, batch, settings, negatives=self.true_cfg)

    def _encode_texts(self, texts: list[str]) -> Encoded:
        embeds, pooled, _ = self.pipe.encode_prompt(
            prompt=texts,
            prompt_2=None,
            device=self.pipe._execution_device,
            num_images_per_prompt=1,
            max_sequence_length=self.max_sequence_length,
        )
        return Encoded(embeds=embeds, pooled=pooled)

    def call_kwargs(
        self, guidance: float, width: int, height: int, images: list[Image.Image] | None, strength: float | None
    ) -> dict[str, Any]:
        # schnell ignores guidance_scale (no guidance input); dev embeds it.
        kwargs: dict[str, Any] = {"guidance_scale": guidance, "width": width, "height": height}
        if self.true_cfg:
            kwargs["true_cfg_scale"] = self.true_cfg_scale
        if images is not None:
            kwargs.update(image=images, strength=strength)
        return kwargs

    def decode(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        return flow.decode_shifted(self.pipe.vae, self.spatial(latents, width, height))

    def spatial(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        # FLUX packs 2×2 latent patches into tokens: [B, h/2 · w/2, 4C] → [B, C, h, w].
        return FluxPipeline._unpack_latents(latents, height, width, self.pipe.vae_scale_factor)

    def tile_modules(self) -> tuple[nn.Module, ...]:
        return ()


REGISTRATION = Registration(name="FLUX.1", pipelines=(FluxPipeline,), adapter=Flux, transformer=True)

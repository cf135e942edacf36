"""Stable Diffusion 3 / 3.5 (``StableDiffusion3Pipeline``): an MMDiT on a 16-channel VAE, CLIP-L + CLIP-G + T5-XXL.

Variants are told apart by the transformer's config: dual attention layers (MMDiT-X) → 3.5 Medium, QK-norm without
them → 3.5 Large, neither → 3 Medium. Published use (models/tiny_families/sd3.py has the family's notes; sources:
the stabilityai/stable-diffusion-3.5-medium and -3.5-large model cards, the diffusers SD3 docs, and the Hugging Face
blog "Diffusers welcomes Stable Diffusion 3.5 Large"): native 1024×1024; 3.5 Medium 40 steps at guidance 4.5,
3.5 Large 28 steps at 3.5, SD3 Medium 28 steps at 7.0. Flags:

- --stylize → real classifier-free guidance on the variant's curve (the published scale at --stylize 100; the
  higher scale at 0 and lower one at 1000 are the house's choice, as SD's 9 / 7 / 4 are), plus the house style
  blended into the prompt embedding.
- ``::`` weights → weighted average of each part's token embeddings (CLIP + T5 concatenated, fixed length) and of
  the pooled CLIP vectors; negative weights join the negative side.
- --no → the negative prompt (real CFG, ``negative_prompt_embeds``), with the default negative.
- --chaos → seeded noise on each image's embeddings. --stop → the flow-matching clean estimate, decoded early.
- --quality → steps. --tile → refused (no convolutions to pad). Variations and upscales: the SD3 img2img pipeline.

A checkpoint without T5 (``text_encoder_3`` absent, the diffusers docs' way to save memory) still works: the
pipeline fills T5's part with zeros. SD3.5 Large Turbo has Large's architecture and cannot be told apart from its
config: run it with IMAGINE_STEPS=4 (its guidance curve here is Large's, where Turbo wants 0).
"""

from __future__ import annotations

from typing import Any

# From the defining modules: to a type checker, diffusers' top-level names are placeholder classes (see loader.py).
from diffusers.pipelines.stable_diffusion_3.pipeline_stable_diffusion_3 import StableDiffusion3Pipeline

from models.families import flow
from models.families.base import FamilyFacts, Registration
from models.preview import fit_projection
from models.prompting import Conditioning, Encoded, condition
from models.settings import EngineSettings
from worker.cards import Capabilities
from worker.spec import GuidanceCurve, PromptFields

# T5 tokens read (the pipeline's default; CLIP reads 77).
MAX_SEQUENCE_LENGTH = 256
# variant → (label, recommended steps, guidance curve)
VARIANTS: dict[str, tuple[str, int, GuidanceCurve]] = {
    "3.5-medium": ("SD3.5 Medium", 40, GuidanceCurve(at_0=6.0, at_100=4.5, at_1000=3.0)),
    "3.5-large": ("SD3.5 Large", 28, GuidanceCurve(at_0=4.5, at_100=3.5, at_1000=2.5)),
    "3-medium": ("SD3 Medium", 28, GuidanceCurve(at_0=9.0, at_100=7.0, at_1000=4.5)),
}


class StableDiffusion3(flow.LatentImagePipelines):
    """A loaded SD3-family pipeline, its img2img and inpaint twins, and the family's facts."""

    def __init__(self, pipe: StableDiffusion3Pipeline, settings: EngineSettings, name: str):
        flow.use_flow_scheduler(pipe)
        self.pipe: Any = pipe
        self.img2img, self.inpaint = flow.siblings(pipe)
        self.variant = variant_of(pipe)
        label, steps, curve = VARIANTS[self.variant]
        # The positional-embedding table covers pos_embed_max_size patches a side (192 → 3072 px for 3.5 Large).
        config = self.pipe.transformer.config
        limit = config.pos_embed_max_size * config.patch_size * pipe.vae_scale_factor
        base, step, longest = flow.sizes("sd3", limit)
        self.facts = FamilyFacts(
            family="sd3",
            label=label,
            base_resolution=base,
            size_step=step,
            pixel_multiple=step,
            max_side=longest,
            default_steps=steps,
            guidance=curve,
            capabilities=Capabilities(tile=False),
            sampler=flow.SAMPLER,
            upscale_strength=flow.UPSCALE_STRENGTH,
        )
        self.projection = fit_projection(pipe.vae)

    def encode(self, fields: PromptFields, seed: int, batch: int, settings: EngineSettings) -> Conditioning:
        return condition(self._encode_texts, fields, seed, batch, settings)

    def _encode_texts(self, texts: list[str]) -> Encoded:
        embeds, _, pooled, _ = self.pipe.encode_prompt(
            prompt=texts,
            prompt_2=None,
            prompt_3=None,
            device=self.pipe._execution_device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=False,
            max_sequence_length=MAX_SEQUENCE_LENGTH,
        )
        return Encoded(embeds=embeds, pooled=pooled)


def variant_of(pipe: StableDiffusion3Pipeline) -> str:
    """ "3.5-medium" (MMDiT-X: dual attention layers), "3.5-large" (QK-norm) or "3-medium" (neither)."""
    config = pipe.transformer.config
    if config.dual_attention_layers:
        return "3.5-medium"
    if config.qk_norm:
        return "3.5-large"
    return "3-medium"


REGISTRATION = Registration(
    name="Stable Diffusion 3/3.5",
    pipelines=(StableDiffusion3Pipeline,),
    adapter=StableDiffusion3,
    transformer=True,
)

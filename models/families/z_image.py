"""Z-Image-Turbo (``ZImagePipeline``): a 6B single-stream DiT on the FLUX.1 VAE, Qwen3-4B caption tokens.

Published use (models/tiny_families/z_image.py has the family's notes; sources: the diffusers Z-Image docs and the
``ZImagePipeline`` docstring example): native 1024×1024, 8 steps ("8 NFEs") at ``guidance_scale=0.0``. Every
``ZImagePipeline`` is taken for Turbo, the one published checkpoint these facts describe.

Guidance is offset by one from the usual convention: the pipeline computes ``pos + g · (pos - neg)``, so its ``g`` is
a conventional CFG scale of ``1 + g`` and ``g = 0`` means no CFG at all. The card's curve is in the pipeline's own
terms: Turbo's is flat at 0. Flags:

- --stylize → refused unless 100: the guidance curve is flat, and no house style can be blended in, because the
  caption tokens are variable-length (the pipeline strips the padding per prompt), so two prompts' embeddings have
  no common shape to average.
- ``::`` multi-prompts → refused, for the same reason.
- --no and negative weights → refused: at guidance 0 no negative pass runs.
- --chaos → seeded noise on each image's caption tokens. --stop → the flow-matching clean estimate, decoded early.
- --quality → steps. --tile → refused. Variations and upscales: ``ZImageImg2ImgPipeline``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

# From the defining modules: to a type checker, diffusers' top-level names are placeholder classes (see loader.py).
from diffusers.pipelines.z_image.pipeline_z_image import ZImagePipeline

from models.families import flow
from models.families.base import FamilyFacts, Registration
from models.preview import fit_projection
from models.prompting import Encoded, with_chaos
from models.settings import EngineSettings
from worker.cards import Capabilities
from worker.spec import GuidanceCurve, PromptFields

MAX_SEQUENCE_LENGTH = 512
TURBO_STEPS = 8
TURBO_GUIDANCE = GuidanceCurve(at_0=0, at_100=0, at_1000=0)


@dataclass(frozen=True)
class CaptionConditioning:
    """Per-image caption tokens, one [tokens, width] tensor per image (lengths as the prompt's), and the empty
    prompt's as the negative side: unused at Turbo's guidance 0, there for a spec that asks for CFG."""

    embeds: list[torch.Tensor]
    negative: list[torch.Tensor]

    @property
    def batch(self) -> int:
        return len(self.embeds)

    def select(self, index: int) -> CaptionConditioning:
        pick = slice(index, index + 1)
        return CaptionConditioning(self.embeds[pick], self.negative[pick])

    def pipeline_kwargs(self) -> dict[str, Any]:
        return {"prompt_embeds": self.embeds, "negative_prompt_embeds": self.negative}


class ZImage(flow.LatentImagePipelines):
    """A loaded Z-Image pipeline, its img2img and inpaint twins, and the family's facts."""

    def __init__(self, pipe: ZImagePipeline, settings: EngineSettings, name: str):
        flow.use_flow_scheduler(pipe)
        self.pipe: Any = pipe
        self.img2img, self.inpaint = flow.siblings(pipe)
        # RoPE tables cover axes_lens[1] patches a side (512 → 8192 px).
        config = self.pipe.transformer.config
        limit = config.axes_lens[1] * config.all_patch_size[0] * pipe.vae_scale_factor
        base, step, longest = flow.sizes("z-image", limit)
        self.facts = FamilyFacts(
            family="z-image",
            label="Z-Image-Turbo",
            base_resolution=base,
            size_step=step,
            pixel_multiple=step,
            max_side=longest,
            default_steps=TURBO_STEPS,
            guidance=TURBO_GUIDANCE,
            capabilities=Capabilities(negative_prompt=False, weights=False, stylize=False, tile=False),
            sampler=flow.SAMPLER,
            upscale_strength=flow.UPSCALE_STRENGTH,
        )
        self.projection = fit_projection(pipe.vae)
        self._empty = self._caption("")

    def encode(self, fields: PromptFields, seed: int, batch: int, settings: EngineSettings) -> CaptionConditioning:
        if len(fields.prompts) != 1 or fields.prompts[0].weight <= 0:
            raise ValueError("Z-Image takes one prompt part with a positive weight")
        tokens = Encoded(embeds=self._caption(fields.prompts[0].text).unsqueeze(0), pooled=None)
        rows = [with_chaos(tokens, fields.chaos, seed + i, settings).embeds[0] for i in range(batch)]
        return CaptionConditioning(rows, [self._empty] * batch)

    @torch.no_grad()
    def _caption(self, text: str) -> torch.Tensor:
        # A fresh list: encode_prompt rewrites the list it is given (chat template) in place.
        embeds, _ = self.pipe.encode_prompt(
            prompt=[text],
            device=self.pipe._execution_device,
            do_classifier_free_guidance=False,
            max_sequence_length=MAX_SEQUENCE_LENGTH,
        )
        return embeds[0]


REGISTRATION = Registration(name="Z-Image", pipelines=(ZImagePipeline,), adapter=ZImage, transformer=True)

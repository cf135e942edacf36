"""What the engine needs from a model family: one typed Protocol that each family's adapter module satisfies.

An adapter wraps one loaded diffusers pipeline of its family. It builds the family's image-to-image and inpaint
pipelines on the same modules (diffusers' ``from_pipe``: one copy of the weights serves all three), knows the
family's facts (``FamilyFacts``: sizes, recommended steps, the --stylize → guidance curve, what it can honour),
turns a prompt into the family's text conditioning, names the family's pipeline arguments, and decodes the
family's latents. The engine (models/engine.py) does everything else the same way for every family.

Every adapter module records, in its docstring, how each prompt flag maps onto its family, with sources.
A flag a family cannot honour is off in ``FamilyFacts.capabilities`` (the bot refuses it; ``refusal`` below is the
engine's own check for a spec that arrives anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from PIL import Image
from torch import nn

from models.preview import Projection
from models.settings import EngineSettings
from worker.cards import Capabilities, unsupported
from worker.spec import GuidanceCurve, JobSpec, PromptFields, Strength

# --ar offers at most 4:1 at about base² pixels (a long side of 2 × base), and an upscale doubles that.
MAX_SIDE_PER_BASE = 4
# Upscale img2img strength (the share of the sampler's schedule re-run over the Lanczos 2× image), chosen on the demo
# model by bench/upscale.py (docs/demo-model.md): the strongest refinement that keeps the downscaled result's SSIM
# against the source ≥ 0.9 (subtle) and ≥ 0.8 (creative) for every measured source. Flow families: flow.py.
UPSCALE_STRENGTH: Mapping[Strength, float] = {Strength.SUBTLE: 0.2, Strength.CREATIVE: 0.3}


@dataclass(frozen=True)
class FamilyFacts:
    """One loaded model's family facts, as the model card (worker/cards.py) and the engine need them."""

    family: str  # the card's family: "sd1", "sdxl", "sd3", "flux", "flux2-klein", "z-image", …
    label: str  # for people: "FLUX.1 [schnell]", "SD3.5 Medium"
    base_resolution: int  # native side in pixels
    size_step: int  # --ar sizes step by this: VAE factor × patch size (× the UNet's downsampling for SD)
    pixel_multiple: int  # every side must be a multiple of this (VAE factor × patch size), or the pipeline fails
    max_side: int  # the longest side any job may ask for (positional embeddings bound some families)
    default_steps: int  # recommended denoising steps at --quality 1
    guidance: GuidanceCurve  # --stylize → the pipeline's guidance_scale, in the family's own convention
    capabilities: Capabilities
    sampler: str  # as image metadata names it
    # Upscale img2img strength per Strength: nominal strengths mean different noise on different schedules.
    upscale_strength: Mapping[Strength, float] = field(default_factory=lambda: dict(UPSCALE_STRENGTH))


class PromptConditioning(Protocol):
    """A family's text conditioning for a batch of images: rows are images."""

    @property
    def batch(self) -> int: ...

    def select(self, index: int) -> PromptConditioning:
        """One image's row, as a batch of one."""

    def pipeline_kwargs(self) -> dict[str, Any]:
        """The embedding arguments of the family's pipeline call."""


class FamilyAdapter(Protocol):
    """One loaded model of one family, behind the engine."""

    facts: FamilyFacts
    pipe: Any  # text to image (diffusers registers modules at run time, out of mypy's sight)
    img2img: Any  # variations and upscales: the same modules
    inpaint: Any  # the same modules; no job kind uses it yet (Vary (Region))
    projection: Projection  # cheap previews: latent → RGB, as ``spatial`` lays the latents out

    def encode(self, fields: PromptFields, seed: int, batch: int, settings: EngineSettings) -> PromptConditioning:
        """Conditioning for ``batch`` images from seeds ``seed, seed+1, …`` (:: weights, --no, house style, chaos).

        Raises ValueError for a prompt the family cannot encode (the engine refuses those before).
        """

    def call_kwargs(
        self, guidance: float, width: int, height: int, images: list[Image.Image] | None, strength: float | None
    ) -> dict[str, Any]:
        """The family's own pipeline arguments: guidance, size, and for img2img the source images and strength."""

    def decode(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        """The pipeline's ``output_type="latent"`` output → pixels in [-1, 1], [B, 3, height, width]."""

    def spatial(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        """Latents as the scheduler steps them → [B, C, h, w] for ``projection``."""

    def tile_modules(self) -> tuple[nn.Module, ...]:
        """The modules whose convolutions --tile makes circular (empty where the family has no --tile)."""


@dataclass(frozen=True)
class Registration:
    """A family the loader recognises by pipeline class, and how to wrap a loaded pipeline of it."""

    name: str  # for error messages: "FLUX.1", "Z-Image"
    pipelines: tuple[type, ...]  # diffusers text-to-image pipeline classes (model_index.json's _class_name)
    adapter: Callable[[Any, EngineSettings, str], FamilyAdapter]  # (pipeline, settings, model name)
    transformer: bool  # a transformer family: bf16 on any accelerator that has it


def refusal(spec: JobSpec, facts: FamilyFacts) -> str | None:
    """Why this family cannot honour ``spec`` as asked (a user-facing sentence), or None when it can; the rule is
    the bot's too (``worker.cards.unsupported``)."""
    missing = unsupported(spec.kind, spec.prompt, facts.capabilities)
    return None if missing is None else f"{facts.label} cannot honour {missing.flag}: {missing.why}"

"""Prompt → text conditioning: ``::`` weights, --no, the house style (--stylize, --style raw) and --chaos.

Everything here happens in embedding space, after one batched text-encoder call:

* ``::`` weights: each part is encoded on its own and the positive parts are averaged by weight
  (``cat::2 dog`` is two-thirds cat). Parts with negative weight join the negative conditioning, weighted by
  ``|w|`` against the --no text's weight of 1, so classifier-free guidance pushes the image away from them.
* --no: the user's negative text, joined (", ") with the configured default negative prompt.
* --stylize: the house-style embedding is blended into the positive one with share
  ``house_style_weight × stylize / 1000`` (0 at --stylize 0; at most ``house_style_weight``).
  --style raw turns the house style off; guidance itself comes from the spec (worker.spec.guidance_for_stylize).
* --chaos: each of the four images gets its own Gaussian noise on the positive embedding, scaled by
  ``chaos_scale × chaos / 100`` times each token's spread, seeded from that image's seed, so the four
  images drift further apart in content as chaos grows, and each cell stays reproducible on its own.

``condition`` does this for any family whose text encoders give fixed-length token embeddings (and maybe a pooled
vector): SD 1/2/XL (``build_conditioning``), SD3, FLUX.1 and FLUX.2 klein, each passing its own ``encode``.
A family without a negative prompt (no classifier-free guidance) gets ``negatives=False``: no negative side at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

# From the defining modules: to a type checker, diffusers' top-level names are its placeholder classes for missing
# backends (diffusers/__init__.py imports those first, in a try/except), which have no attributes.
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline
from diffusers.pipelines.stable_diffusion_xl.pipeline_stable_diffusion_xl import StableDiffusionXLPipeline

from models.settings import EngineSettings
from worker.spec import PromptFields

# Offsets the chaos noise stream from the initial-latent stream of the same image seed.
CHAOS_SEED_OFFSET = 2**32


@dataclass(frozen=True)
class Conditioning:
    """Per-image text conditioning: rows are images; ``pooled`` tensors for SDXL, SD3 and FLUX.1; no ``negative``
    for a family without a negative prompt."""

    embeds: torch.Tensor
    negative: torch.Tensor | None
    pooled: torch.Tensor | None = None
    negative_pooled: torch.Tensor | None = None

    @property
    def batch(self) -> int:
        return self.embeds.shape[0]

    def select(self, index: int) -> Conditioning:
        """The conditioning of one image, as a batch of one."""
        pick = slice(index, index + 1)
        return Conditioning(
            embeds=self.embeds[pick],
            negative=None if self.negative is None else self.negative[pick],
            pooled=None if self.pooled is None else self.pooled[pick],
            negative_pooled=None if self.negative_pooled is None else self.negative_pooled[pick],
        )

    def pipeline_kwargs(self) -> dict[str, Any]:
        """The ``*_embeds`` arguments of a diffusers pipeline call (the same names in every family that takes them)."""
        named = {
            "prompt_embeds": self.embeds,
            "negative_prompt_embeds": self.negative,
            "pooled_prompt_embeds": self.pooled,
            "negative_pooled_prompt_embeds": self.negative_pooled,
        }
        return {name: value for name, value in named.items() if value is not None}


@dataclass(frozen=True)
class Encoded:
    """Text-encoder output for N texts: hidden states [N, T, D] and, for SDXL, pooled [N, D2]."""

    embeds: torch.Tensor
    pooled: torch.Tensor | None

    def blend(self, weights: list[tuple[int, float]]) -> Encoded:
        """Weighted average of rows ``(index, weight)``; weights must sum to a positive number."""
        total = sum(w for _, w in weights)

        def average(rows: torch.Tensor) -> torch.Tensor:
            return sum((rows[i] * (w / total) for i, w in weights), torch.zeros_like(rows[0])).unsqueeze(0)

        return Encoded(embeds=average(self.embeds), pooled=None if self.pooled is None else average(self.pooled))

    def mix(self, other: Encoded, share: float) -> Encoded:
        """``(1 - share) × self + share × other``."""
        pooled = None
        if self.pooled is not None:
            if other.pooled is None:
                raise ValueError("cannot mix an encoding that has pooled embeddings with one that has none")
            pooled = torch.lerp(self.pooled, other.pooled, share)
        return Encoded(embeds=torch.lerp(self.embeds, other.embeds, share), pooled=pooled)


def encode_texts(pipe: StableDiffusionPipeline | StableDiffusionXLPipeline, texts: list[str]) -> Encoded:
    """Encode texts in one batch with the pipeline's own text encoder(s), truncating at 77 tokens."""
    device = pipe._execution_device
    if isinstance(pipe, StableDiffusionXLPipeline):
        embeds, _, pooled, _ = pipe.encode_prompt(
            prompt=texts,  # type: ignore[arg-type]  # annotated str; diffusers documents and takes list[str]
            device=device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=False,
        )
        return Encoded(embeds=embeds, pooled=pooled)
    embeds, _ = pipe.encode_prompt(texts, device, 1, do_classifier_free_guidance=False)
    return Encoded(embeds=embeds, pooled=None)


def negative_text(fields: PromptFields, settings: EngineSettings) -> str:
    """The --no text joined with the configured default negative prompt."""
    return ", ".join(part for part in (fields.negative, settings.default_negative) if part and part.strip())


def house_style_share(fields: PromptFields, settings: EngineSettings) -> float:
    """How much of the house-style embedding goes into the prompt (0 with --style raw or no house style)."""
    if fields.raw or not (settings.house_style or "").strip():
        return 0.0
    return settings.house_style_weight * fields.stylize / 1000


@torch.no_grad()
def build_conditioning(
    pipe: StableDiffusionPipeline | StableDiffusionXLPipeline,
    fields: PromptFields,
    seed: int,
    batch: int,
    settings: EngineSettings,
) -> Conditioning:
    """SD 1/2/XL text conditioning for ``batch`` images from seeds ``seed, seed+1, …``; raises ValueError on bad
    weights."""
    return condition(
        lambda texts: encode_texts(pipe, texts), fields, seed, batch, settings, zeros_for_empty=_zeros_for_empty(pipe)
    )


@torch.no_grad()
def condition(
    encode: Callable[[list[str]], Encoded],
    fields: PromptFields,
    seed: int,
    batch: int,
    settings: EngineSettings,
    *,
    negatives: bool = True,
    zeros_for_empty: bool = False,
) -> Conditioning:
    """Text conditioning for ``batch`` images from seeds ``seed, seed+1, …`` with ``encode`` (texts → one batch of
    fixed-length embeddings); raises ValueError on bad weights, or a negative side the family has not.

    ``negatives``: whether the family has a negative prompt; ``zeros_for_empty``: an empty negative is all zeros
    (SDXL was trained that way) rather than the encoded empty text.
    """
    # 1. Sort the prompt parts: positive weights make the prompt, negative ones join the negative side.
    positive = [(p.text, p.weight) for p in fields.prompts if p.weight > 0]
    pushed_away = [(p.text, -p.weight) for p in fields.prompts if p.weight < 0]
    if not positive:
        raise ValueError("a prompt needs at least one part with a positive weight")
    negative = negative_text(fields, settings)
    if not negatives and (negative or pushed_away):
        raise ValueError("this model has no negative prompt (--no, negative :: weights)")
    share = house_style_share(fields, settings)
    house_style = settings.house_style if share > 0 else None  # a share above 0 means there is a house style

    # 2. Encode every text once, in one batch.
    texts = [t for t, _ in positive] + [t for t, _ in pushed_away] + ([negative] if negatives else [])
    if house_style is not None:
        texts.append(house_style)
    encoded = encode(texts)
    n_pos, n_neg = len(positive), len(pushed_away)

    # 3. Positive side: weighted average, then the house style.
    cond = encoded.blend([(i, w) for i, (_, w) in enumerate(positive)])
    if house_style is not None:
        cond = cond.mix(encoded.blend([(len(texts) - 1, 1.0)]), share)

    # 4. Negative side: the --no text (weight 1) plus parts with negative weight.
    uncond = None
    if negatives:
        negative_index = n_pos + n_neg
        uncond = encoded.blend([(negative_index, 1.0)] + [(n_pos + j, w) for j, (_, w) in enumerate(pushed_away)])
        if not negative and not pushed_away and zeros_for_empty:
            # SDXL was trained with zeroed (not "empty string") unconditional embeddings.
            uncond = Encoded(
                torch.zeros_like(uncond.embeds), None if uncond.pooled is None else torch.zeros_like(uncond.pooled)
            )

    # 5. One row per image; --chaos perturbs each image's positive row with its own seeded noise.
    rows = [with_chaos(cond, fields.chaos, seed + i, settings) for i in range(batch)]
    return Conditioning(
        embeds=torch.cat([r.embeds for r in rows]),
        negative=None if uncond is None else uncond.embeds.expand(batch, -1, -1).contiguous(),
        pooled=None if cond.pooled is None else torch.cat([r.pooled for r in rows if r.pooled is not None]),
        negative_pooled=None
        if uncond is None or uncond.pooled is None
        else uncond.pooled.expand(batch, -1).contiguous(),
    )


def with_chaos(cond: Encoded, chaos: int, image_seed: int, settings: EngineSettings) -> Encoded:
    """``cond`` plus --chaos noise seeded from one image's seed (``cond`` itself at chaos 0)."""
    scale = settings.chaos_scale * chaos / 100
    if scale == 0:
        return cond
    generator = torch.Generator("cpu").manual_seed(image_seed + CHAOS_SEED_OFFSET)

    def noisy(t: torch.Tensor) -> torch.Tensor:
        # Noise drawn on the CPU so a seed means the same conditioning on every device.
        noise = torch.randn(t.shape, generator=generator, dtype=torch.float32).to(t.device, t.dtype)
        return t + noise * t.std(dim=-1, keepdim=True) * scale

    return replace(cond, embeds=noisy(cond.embeds), pooled=None if cond.pooled is None else noisy(cond.pooled))


def _zeros_for_empty(pipe: StableDiffusionPipeline | StableDiffusionXLPipeline) -> bool:
    return bool(getattr(pipe.config, "force_zeros_for_empty_prompt", False))

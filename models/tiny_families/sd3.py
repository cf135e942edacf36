"""Stable Diffusion 3 / 3.5: a tiny random-weight ``StableDiffusion3Pipeline`` and the published full-size configs.

Family facts (the tiny model keeps every one except the widths):

- Latents: 16 channels at 1/8 of the pixel size (VAE scale factor 8), normalised by ``(z - 0.0609) * 1.5305``.
  The MMDiT patchifies 2×2, so sizes step by 16 px.
- Text: CLIP-L and CLIP-G (both with projection; their penultimate hidden states are concatenated and zero-padded
  to T5's width) plus T5-XXL; pooled projections of both CLIPs (768 + 1280 = 2048) condition the timestep embedding.
  CLIP reads 77 tokens, T5 ``max_sequence_length`` (default 256, at most 512).
- Guidance: real classifier-free guidance with a negative prompt (``negative_prompt`` and ``_2``/``_3`` per
  encoder), no guidance embedding. Skip-layer guidance is available (``skip_guidance_layers``).
- Scheduler: ``FlowMatchEulerDiscreteScheduler(shift=3.0)``, no resolution-dependent shift.
- Variants: "3-medium" (plain MMDiT), "3.5-medium" (MMDiT-X: dual attention in the first 13 layers, RMS QK-norm),
  "3.5-large" (QK-norm, no dual attention).
- Published use: native 1024×1024 (3.5 Medium trained 256 → 1440 px, "0.25 to 2 megapixel"); the 3.5 Medium model
  card samples 40 steps at guidance 4.5, 3.5 Large 28 steps at 3.5, and SD3 Medium's diffusers example 28 steps at
  7.0. Sizes: 2B (3 Medium), 2.5B (3.5 Medium), 8.1B (3.5 Large) transformer parameters. Sources: the
  stabilityai/stable-diffusion-3.5-medium and -3.5-large model cards (huggingface.co), the diffusers SD3 docs and
  the Hugging Face blog "Diffusers welcomes Stable Diffusion 3.5 Large" (huggingface.co/blog/sd3-5).

The tiny transformer's ``sample_size`` is 8, so a call without ``height``/``width`` makes 64 px, not 1024.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch

# diffusers classes from their defining modules: mypy reads the top-level names as placeholder classes.
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
from diffusers.models.transformers.transformer_sd3 import SD3Transformer2DModel
from diffusers.pipelines.stable_diffusion_3.pipeline_stable_diffusion_3 import StableDiffusion3Pipeline
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler

from models.tiny import WEIGHTS_SEED
from models.tiny_families import text
from models.tiny_families.vae import LATENT_CHANNELS, tiny_vae16

SD3Variant = Literal["3-medium", "3.5-medium", "3.5-large"]
VARIANTS: tuple[SD3Variant, ...] = ("3-medium", "3.5-medium", "3.5-large")

SCALING_FACTOR, SHIFT_FACTOR = 1.5305, 0.0609
SCHEDULER_SHIFT = 3.0

# Tiny widths: CLIP-L 32 and CLIP-G 48 (unequal, like 768/1280), T5 128 (wider than both CLIPs together, so the
# zero-padding of CLIP states to T5's width runs, as 2048 → 4096 does in the real model).
CLIP_L_WIDTH, CLIP_G_WIDTH, T5_WIDTH = 32, 48, 128

# Published transformer configs, as in each repository's transformer/config.json. Sources:
# 3-medium: stabilityai/stable-diffusion-3-medium-diffusers (read through copies on huggingface.co, e.g.
#   jatr96/trained-sd3 whose _name_or_path names it); 3.5-medium: stabilityai/stable-diffusion-3.5-medium
#   (read through the mirror frankjoshua/stable-diffusion-3.5-medium, commit 94b13cc "SD3.5 Medium Public Release");
#   3.5-large: stabilityai/stable-diffusion-3.5-large (mirror frankjoshua/stable-diffusion-3.5-large, commit 4c4df3f).
_COMMON: dict[str, Any] = {
    "attention_head_dim": 64,
    "in_channels": 16,
    "out_channels": 16,
    "joint_attention_dim": 4096,
    "patch_size": 2,
    "pooled_projection_dim": 2048,
    "sample_size": 128,
}
PUBLISHED_TRANSFORMER: dict[SD3Variant, dict[str, Any]] = {
    "3-medium": {
        **_COMMON,
        "caption_projection_dim": 1536,
        "num_attention_heads": 24,
        "num_layers": 24,
        "pos_embed_max_size": 192,
        "dual_attention_layers": (),
        "qk_norm": None,
    },
    "3.5-medium": {
        **_COMMON,
        "caption_projection_dim": 1536,
        "num_attention_heads": 24,
        "num_layers": 24,
        "pos_embed_max_size": 384,
        "dual_attention_layers": tuple(range(13)),
        "qk_norm": "rms_norm",
    },
    "3.5-large": {
        **_COMMON,
        "caption_projection_dim": 2432,
        "num_attention_heads": 38,
        "num_layers": 38,
        "pos_embed_max_size": 192,
        "qk_norm": "rms_norm",
    },
}
# vae/config.json, identical in all three (e.g. the 3.5-medium copy at Prgckwb/trpfrog-sd3.5-medium, whose
# _name_or_path is the stabilityai snapshot); defaults of AutoencoderKL not listed.
PUBLISHED_VAE: dict[str, Any] = {
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "latent_channels": 16,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "sample_size": 1024,
    "scaling_factor": SCALING_FACTOR,
    "shift_factor": SHIFT_FACTOR,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
}
# Published transformer sizes in parameters (model cards / Stability AI announcements).
PUBLISHED_PARAMETERS: dict[SD3Variant, float] = {"3-medium": 2e9, "3.5-medium": 2.5e9, "3.5-large": 8.1e9}


def build_sd3(variant: SD3Variant = "3.5-medium") -> StableDiffusion3Pipeline:
    """A tiny SD3-family pipeline with the variant's block layout (dual attention, QK-norm) at toy widths.

    Raises ValueError for an unknown variant.
    """
    published = _published(variant)
    torch.manual_seed(WEIGHTS_SEED)
    heads, head_dim = 2, 16
    transformer = SD3Transformer2DModel(
        sample_size=8,
        patch_size=2,
        in_channels=LATENT_CHANNELS,
        out_channels=LATENT_CHANNELS,
        num_layers=2,
        attention_head_dim=head_dim,
        num_attention_heads=heads,
        caption_projection_dim=heads * head_dim,
        joint_attention_dim=T5_WIDTH,
        pooled_projection_dim=CLIP_L_WIDTH + CLIP_G_WIDTH,
        # 64 patches of 16 px: the tiny model reaches 1024 px, the real family's native size.
        pos_embed_max_size=64,
        dual_attention_layers=(0,) if published.get("dual_attention_layers") else (),
        qk_norm=published.get("qk_norm"),
    )
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=SCHEDULER_SHIFT),
        vae=tiny_vae16(scaling_factor=SCALING_FACTOR, shift_factor=SHIFT_FACTOR),
        text_encoder=text.clip_encoder_with_projection(CLIP_L_WIDTH),
        tokenizer=text.clip_tokenizer(),
        text_encoder_2=text.clip_encoder_with_projection(CLIP_G_WIDTH),
        tokenizer_2=text.clip_tokenizer(),
        text_encoder_3=text.t5_encoder(T5_WIDTH),
        tokenizer_3=text.t5_tokenizer(),
    )


def save_sd3(path: Path, variant: SD3Variant = "3.5-medium") -> Path:
    """Build the tiny pipeline and save it as a diffusers folder at ``path``; returns ``path``."""
    build_sd3(variant).save_pretrained(path)
    return path


def full_size_sd3_transformer(variant: SD3Variant = "3.5-medium") -> SD3Transformer2DModel:
    """The published transformer architecture with its weights on the meta device (no memory allocated)."""
    with torch.device("meta"):
        return SD3Transformer2DModel.from_config(_published(variant))


def full_size_sd3_vae() -> AutoencoderKL:
    """The published VAE architecture on the meta device."""
    with torch.device("meta"):
        return AutoencoderKL.from_config(PUBLISHED_VAE)


def _published(variant: str) -> dict[str, Any]:
    for known in VARIANTS:
        if variant == known:
            return PUBLISHED_TRANSFORMER[known]
    raise ValueError(f"variant={variant!r} is not an SD3 variant; expected one of {', '.join(VARIANTS)}")

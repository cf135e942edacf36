"""FLUX.1: a tiny random-weight ``FluxPipeline`` (schnell-like and dev-like) and the published full-size configs.

Family facts (the tiny model keeps every one except the widths):

- Latents: 16 channels at 1/8 of the pixel size (VAE scale factor 8), normalised by ``(z - 0.1159) * 0.3611``,
  then packed into 2×2 patches (64 values per token), so sizes step by 16 px.
- Text: CLIP-L's pooled output (768) conditions the modulation; T5-XXL's hidden states (4096) are the text tokens.
  CLIP reads 77 tokens, T5 ``max_sequence_length`` (pipeline default 512; schnell was trained with 256).
- Guidance: "dev" embeds the guidance scale in the transformer (``guidance_embeds=True``, guidance-distilled, one
  pass per step); "schnell" has no guidance input at all (timestep-distilled; ``guidance_scale`` is ignored).
  Neither runs classic CFG by default; ``negative_prompt`` with ``true_cfg_scale > 1`` adds a second, negative pass.
- Scheduler: flow-matching Euler; schnell a fixed ``shift=1.0``, dev resolution-dependent shifting
  (``use_dynamic_shifting``, mu from the image's token count between 256 and 4096 tokens).
- Published use: 12B-parameter transformer; native 1024×1024 (the diffusers docs sample 1360×768). schnell 1–4
  steps at ``guidance_scale=0`` with ``max_sequence_length`` ≤ 256; dev about 50 steps at ``guidance_scale=3.5``.
  Sources: the diffusers Flux pipeline docs (docs/source/en/api/pipelines/flux.md) and the
  black-forest-labs/FLUX.1-schnell and FLUX.1-dev model cards (huggingface.co).

``FluxPipeline`` defaults to 1024 px when no ``height``/``width`` is given, also for the tiny model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch

# diffusers classes from their defining modules: mypy reads the top-level names as placeholder classes.
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
from diffusers.models.transformers.transformer_flux import FluxTransformer2DModel
from diffusers.pipelines.flux.pipeline_flux import FluxPipeline
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler

from models.tiny import WEIGHTS_SEED
from models.tiny_families import text
from models.tiny_families.vae import LATENT_CHANNELS, tiny_vae16

FluxVariant = Literal["schnell", "dev"]
VARIANTS: tuple[FluxVariant, ...] = ("schnell", "dev")

SCALING_FACTOR, SHIFT_FACTOR = 0.3611, 0.1159
CLIP_WIDTH, T5_WIDTH = 32, 128

# Published transformer/config.json of black-forest-labs/FLUX.1-schnell and FLUX.1-dev. The originals are gated;
# read through copies on huggingface.co whose _name_or_path names them (e.g. art42me/flux-schnell-fp8-quantized,
# wavespeed/FLUX.1-dev-e4m3). The two differ only in guidance_embeds.
_TRANSFORMER: dict[str, Any] = {
    "attention_head_dim": 128,
    "axes_dims_rope": (16, 56, 56),
    "in_channels": 64,
    "joint_attention_dim": 4096,
    "num_attention_heads": 24,
    "num_layers": 19,
    "num_single_layers": 38,
    "patch_size": 1,
    "pooled_projection_dim": 768,
}
PUBLISHED_TRANSFORMER: dict[FluxVariant, dict[str, Any]] = {
    "schnell": {**_TRANSFORMER, "guidance_embeds": False},
    "dev": {**_TRANSFORMER, "guidance_embeds": True},
}
# vae/config.json of both variants (copies whose _name_or_path is FLUX.1-dev's, e.g. magespace/FLUX.1-dev-bnb-nf4).
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
# scheduler/scheduler_config.json (copies such as Niansuh/FLUX.1-schnell and reshamgaire/flux-dev-orignal).
_SCHEDULER: dict[str, Any] = {
    "base_image_seq_len": 256,
    "base_shift": 0.5,
    "max_image_seq_len": 4096,
    "max_shift": 1.15,
    "num_train_timesteps": 1000,
}
PUBLISHED_SCHEDULER: dict[FluxVariant, dict[str, Any]] = {
    "schnell": {**_SCHEDULER, "shift": 1.0, "use_dynamic_shifting": False},
    "dev": {**_SCHEDULER, "shift": 3.0, "use_dynamic_shifting": True},
}
PUBLISHED_PARAMETERS = 12e9  # "a 12 billion parameter rectified flow transformer" (both model cards)


def build_flux(variant: FluxVariant = "schnell") -> FluxPipeline:
    """A tiny FLUX.1 pipeline: one double-stream and two single-stream blocks, the variant's guidance input.

    Raises ValueError for an unknown variant.
    """
    published = _published(variant)
    torch.manual_seed(WEIGHTS_SEED)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=4 * LATENT_CHANNELS,
        num_layers=1,
        num_single_layers=2,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=T5_WIDTH,
        pooled_projection_dim=CLIP_WIDTH,
        guidance_embeds=published["guidance_embeds"],
        # RoPE over (text index, row, column); the three parts sum to the head width, as 16 + 56 + 56 = 128.
        axes_dims_rope=(4, 6, 6),
    )
    return FluxPipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(**PUBLISHED_SCHEDULER[variant]),
        vae=tiny_vae16(scaling_factor=SCALING_FACTOR, shift_factor=SHIFT_FACTOR),
        text_encoder=text.clip_encoder(CLIP_WIDTH),
        tokenizer=text.clip_tokenizer(),
        text_encoder_2=text.t5_encoder(T5_WIDTH),
        tokenizer_2=text.t5_tokenizer(),
    )


def save_flux(path: Path, variant: FluxVariant = "schnell") -> Path:
    """Build the tiny pipeline and save it as a diffusers folder at ``path``; returns ``path``."""
    build_flux(variant).save_pretrained(path)
    return path


def full_size_flux_transformer(variant: FluxVariant = "schnell") -> FluxTransformer2DModel:
    """The published transformer architecture with its weights on the meta device (no memory allocated)."""
    with torch.device("meta"):
        return FluxTransformer2DModel.from_config(_published(variant))


def full_size_flux_vae() -> AutoencoderKL:
    """The published VAE architecture on the meta device."""
    with torch.device("meta"):
        return AutoencoderKL.from_config(PUBLISHED_VAE)


def _published(variant: str) -> dict[str, Any]:
    for known in VARIANTS:
        if variant == known:
            return PUBLISHED_TRANSFORMER[known]
    raise ValueError(f"variant={variant!r} is not a FLUX.1 variant; expected one of {', '.join(VARIANTS)}")

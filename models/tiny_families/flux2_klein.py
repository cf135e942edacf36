"""FLUX.2 [klein]: a tiny random-weight ``Flux2KleinPipeline`` and the published 4B / 9B configs.

Family facts (the tiny model keeps every one except the widths):

- Latents: the FLUX.2 VAE (``AutoencoderKLFlux2``) has 32 channels at 1/8 of the pixel size (VAE scale factor
  8); the VAE itself patchifies 2×2 and batch-normalises (128 values per token, running statistics in the VAE
  instead of a scaling/shift factor), so sizes step by 16 px.
- Text: one Qwen3 causal LM (Qwen3-4B for 4B, Qwen3-8B for 9B) reading the prompt through its chat template
  (thinking disabled), ``max_sequence_length`` 512; the hidden states of layers 9, 18 and 27 are concatenated
  (3 × 2560 = 7680 for 4B), so the tiny encoder keeps 27 layers to keep those default taps valid.
  No pooled text vector.
- Guidance: the distilled checkpoints (``is_distilled=True``) take no guidance (``guidance_scale`` is ignored with a
  warning); the "base" checkpoints run real CFG against an empty prompt when ``guidance_scale > 1`` (there is no
  ``negative_prompt`` text argument, only ``negative_prompt_embeds``). No guidance embedding (``guidance_embeds``
  is false).
- Editing: ``image=`` (one or several reference images) conditions generation in the same pipeline;
  ``AutoPipelineForImage2Image`` maps to ``Flux2KleinPipeline`` itself. ``Flux2KleinInpaintPipeline`` inpaints.
- Scheduler: flow-matching Euler with the pipeline computing mu from the token count and step count.
- Published use: native 1024×1024 (pipeline default ``default_sample_size`` 128); klein 4B / 9B (distilled) 4
  steps, guidance unused; the base models about 50 steps at ``guidance_scale=4.0``. Sizes 4B and 9B (transformer).
  Sources: black-forest-labs/flux2 README (github, model overview, 15.01.2026 release), the FLUX.2-klein-4B
  repository's model_index.json (``is_distilled: true``), the diffusers ``Flux2KleinPipeline`` docstring example
  (base-9B, 50 steps, 4.0) and third-party hosts' defaults (fal.ai: 4 steps, range 4–8).

``Flux2KleinPipeline`` defaults to 1024 px when no ``height``/``width`` is given, also for the tiny model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch

# diffusers classes from their defining modules: mypy reads the top-level names as placeholder classes.
from diffusers.models.autoencoders.autoencoder_kl_flux2 import AutoencoderKLFlux2
from diffusers.models.transformers.transformer_flux2 import Flux2Transformer2DModel
from diffusers.pipelines.flux2.pipeline_flux2_klein import Flux2KleinPipeline
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler

from models.tiny import WEIGHTS_SEED
from models.tiny_families import text

KleinVariant = Literal["distilled", "base"]
VARIANTS: tuple[KleinVariant, ...] = ("distilled", "base")
KleinSize = Literal["4B", "9B"]

LATENT_CHANNELS = 32
QWEN_WIDTH = 16
# The pipeline's default text_encoder_out_layers is (9, 18, 27): hidden_states[27] needs at least 27 layers.
QWEN_LAYERS = 27
TEXT_TAPS = 3

# Published transformer configs. Source: diffusers scripts/convert_flux2_to_diffusers.py
# (get_flux2_transformer_config, "klein-4b" / "klein-9b"; huggingface/diffusers at 58eb52c), which the 4B matches
# field for field in the diffusers folder YuCollection/FLUX.2-klein-base-4B-Diffusers (transformer/config.json).
_TRANSFORMER: dict[str, Any] = {
    "patch_size": 1,
    "in_channels": 128,
    "attention_head_dim": 128,
    "timestep_guidance_channels": 256,
    "mlp_ratio": 3.0,
    "axes_dims_rope": (32, 32, 32, 32),
    "rope_theta": 2000,
    "eps": 1e-6,
    "guidance_embeds": False,
}
PUBLISHED_TRANSFORMER: dict[KleinSize, dict[str, Any]] = {
    "4B": {**_TRANSFORMER, "num_layers": 5, "num_single_layers": 20, "num_attention_heads": 24,
           "joint_attention_dim": 7680},
    "9B": {**_TRANSFORMER, "num_layers": 8, "num_single_layers": 24, "num_attention_heads": 32,
           "joint_attention_dim": 12288},
}  # fmt: skip
# vae/config.json of black-forest-labs/FLUX.2-klein-4B (copy at codeShare/Flux-Klein-SDNQ-4bit whose _name_or_path
# is that snapshot); the same as FLUX.2-dev's VAE.
PUBLISHED_VAE: dict[str, Any] = {
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "latent_channels": 32,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "sample_size": 1024,
    "batch_norm_eps": 1e-4,
    "batch_norm_momentum": 0.1,
    "patch_size": (2, 2),
    "use_quant_conv": True,
    "use_post_quant_conv": True,
}
# Klein's own scheduler_config.json was not found; this is FLUX.2-dev's (diffusers/FLUX.2-dev-bnb-4bit, published by
# the diffusers team). The pipeline passes its own mu, so only the dynamic-shifting switch changes its sigmas.
PUBLISHED_SCHEDULER: dict[str, Any] = {
    "base_image_seq_len": 256,
    "base_shift": 0.5,
    "max_image_seq_len": 4096,
    "max_shift": 1.15,
    "num_train_timesteps": 1000,
    "shift": 3.0,
    "use_dynamic_shifting": True,
}
PUBLISHED_PARAMETERS: dict[KleinSize, float] = {"4B": 4e9, "9B": 9e9}


def build_flux2_klein(variant: KleinVariant = "distilled") -> Flux2KleinPipeline:
    """A tiny FLUX.2 klein pipeline: one double- and two single-stream blocks, a 27-layer toy Qwen3.

    ``variant`` "distilled" marks it ``is_distilled`` (no CFG), "base" runs CFG. Raises ValueError otherwise.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} is not a FLUX.2 klein variant; expected one of {', '.join(VARIANTS)}")
    torch.manual_seed(WEIGHTS_SEED)
    transformer = Flux2Transformer2DModel(
        patch_size=1,
        in_channels=4 * LATENT_CHANNELS,
        num_layers=1,
        num_single_layers=2,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=TEXT_TAPS * QWEN_WIDTH,
        timestep_guidance_channels=256,
        mlp_ratio=3.0,
        # Four RoPE axes (time, row, column, sequence) of 4 summing to the head width, as 4 × 32 = 128.
        axes_dims_rope=(4, 4, 4, 4),
        guidance_embeds=False,
    )
    vae = AutoencoderKLFlux2(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 16, 16, 16),
        layers_per_block=1,
        norm_num_groups=8,
        latent_channels=LATENT_CHANNELS,
        sample_size=64,
    )
    return Flux2KleinPipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(**PUBLISHED_SCHEDULER),
        vae=vae,
        text_encoder=text.qwen3_causal_lm(QWEN_WIDTH, QWEN_LAYERS),
        tokenizer=text.qwen_tokenizer(),
        is_distilled=variant == "distilled",
    )


def save_flux2_klein(path: Path, variant: KleinVariant = "distilled") -> Path:
    """Build the tiny pipeline and save it as a diffusers folder at ``path``; returns ``path``."""
    build_flux2_klein(variant).save_pretrained(path)
    return path


def full_size_flux2_klein_transformer(size: KleinSize = "4B") -> Flux2Transformer2DModel:
    """The published transformer architecture with its weights on the meta device (no memory allocated).

    Raises ValueError for a size other than "4B" or "9B".
    """
    if size not in PUBLISHED_TRANSFORMER:
        raise ValueError(f"size={size!r} is not a FLUX.2 klein size; expected 4B or 9B")
    with torch.device("meta"):
        return Flux2Transformer2DModel.from_config(PUBLISHED_TRANSFORMER[size])


def full_size_flux2_vae() -> AutoencoderKLFlux2:
    """The published FLUX.2 VAE architecture on the meta device."""
    with torch.device("meta"):
        return AutoencoderKLFlux2.from_config(PUBLISHED_VAE)

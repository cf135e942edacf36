"""Z-Image: a tiny random-weight ``ZImagePipeline`` and the published Z-Image-Turbo configs.

Family facts (the tiny model keeps every one except the widths):

- Latents: the FLUX.1 VAE, 16 channels at 1/8 of the pixel size (VAE scale factor 8), normalised by
  ``(z - 0.1159) * 0.3611``; the single-stream DiT patchifies 2×2, so sizes step by 16 px (the pipeline checks).
- Text: one Qwen3 model (Qwen3-4B, width 2560 = ``cap_feat_dim``) reading the prompt through its chat template
  (thinking enabled); its second-to-last hidden states, padding removed, are the caption tokens.
  ``max_sequence_length`` 512. No pooled text vector.
- Guidance: real CFG with ``negative_prompt`` when ``guidance_scale > 0`` (plus ``cfg_normalization`` and
  ``cfg_truncation``); no guidance embedding. The scale is offset by one from the usual convention: the pipeline
  computes ``pos + g * (pos - neg)``, so its ``g`` is a conventional CFG scale of ``1 + g`` and 0 means no CFG.
  Turbo is distilled and is run at ``guidance_scale=0``.
- Scheduler: flow-matching Euler, fixed ``shift=3.0`` (the pipeline passes a mu that is ignored without dynamic
  shifting).
- Published use: Z-Image-Turbo, 6B parameters, 1024×1024 (the pipeline's default size), 8 steps ("8 NFEs") at
  ``guidance_scale=0.0``, img2img ``strength=0.6``. Sources: the diffusers Z-Image docs
  (docs/source/en/api/pipelines/z_image.md) and the ``ZImagePipeline`` docstring example.

``ZImagePipeline`` defaults to 1024 px when no ``height``/``width`` is given, also for the tiny model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from diffusers.models.transformers.transformer_z_image import ZImageTransformer2DModel
from diffusers.pipelines.z_image.pipeline_z_image import ZImagePipeline

# diffusers classes from their defining modules: mypy reads the top-level names as placeholder classes.
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler

from models.tiny import WEIGHTS_SEED
from models.tiny_families import text
from models.tiny_families.vae import LATENT_CHANNELS, tiny_vae16

SCALING_FACTOR, SHIFT_FACTOR = 0.3611, 0.1159
QWEN_WIDTH = 32
# The pipeline reads hidden_states[-2], so two layers is the least that exercises it as the real 36 do.
QWEN_LAYERS = 2

# transformer/config.json of Tongyi-MAI/Z-Image-Turbo (copies on huggingface.co whose _name_or_path names it, e.g.
# TheCodingBug/Z-Image-Turbo-int8). Note axes_lens [1536, 512, 512]: ZImageTransformer2DModel's own default is
# [1024, 512, 512].
PUBLISHED_TRANSFORMER: dict[str, Any] = {
    "all_f_patch_size": (1,),
    "all_patch_size": (2,),
    "axes_dims": (32, 48, 48),
    "axes_lens": (1536, 512, 512),
    "cap_feat_dim": 2560,
    "dim": 3840,
    "in_channels": 16,
    "n_heads": 30,
    "n_kv_heads": 30,
    "n_layers": 30,
    "n_refiner_layers": 2,
    "norm_eps": 1e-05,
    "qk_norm": True,
    "rope_theta": 256.0,
    "t_scale": 1000.0,
}
# scheduler/scheduler_config.json (copy at TensorStack/Z-Image-Turbo-ts).
PUBLISHED_SCHEDULER: dict[str, Any] = {"num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": False}
PUBLISHED_PARAMETERS = 6e9  # "an image generation model with 6B parameters" (diffusers Z-Image docs)


def build_z_image() -> ZImagePipeline:
    """A tiny Z-Image pipeline: a two-layer single-stream DiT (one refiner layer per stream), a toy Qwen3."""
    torch.manual_seed(WEIGHTS_SEED)
    heads = 2
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=LATENT_CHANNELS,
        dim=32,
        n_layers=2,
        n_refiner_layers=1,
        n_heads=heads,
        n_kv_heads=heads,
        qk_norm=True,
        cap_feat_dim=QWEN_WIDTH,
        # RoPE over (sequence, row, column) summing to the head width 16, as 32 + 48 + 48 = 128.
        axes_dims=(8, 4, 4),
        axes_lens=PUBLISHED_TRANSFORMER["axes_lens"],
    )
    return ZImagePipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(**PUBLISHED_SCHEDULER),
        vae=tiny_vae16(scaling_factor=SCALING_FACTOR, shift_factor=SHIFT_FACTOR),
        text_encoder=text.qwen3_model(QWEN_WIDTH, QWEN_LAYERS),
        tokenizer=text.qwen_tokenizer(),  # type: ignore[arg-type]  # diffusers annotates the AutoTokenizer factory, not a tokenizer class
    )


def save_z_image(path: Path) -> Path:
    """Build the tiny pipeline and save it as a diffusers folder at ``path``; returns ``path``."""
    build_z_image().save_pretrained(path)
    return path


def full_size_z_image_transformer() -> ZImageTransformer2DModel:
    """The published Z-Image-Turbo transformer architecture with its weights on the meta device."""
    with torch.device("meta"):
        return ZImageTransformer2DModel.from_config(PUBLISHED_TRANSFORMER)

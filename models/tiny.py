"""Tiny Stable Diffusion pipelines built from configs in code: no downloads, random (seeded) weights.

They exist so the engine runs, and is tested, with real diffusers pipelines where no model can be fetched:
the tests save them with ``save_pretrained`` and load them back like any model folder, and ``MODEL=demo``
falls back to the SD1-family one until the trained demo model is in ``models/demo_model/``. Their pictures
are noise-like; what matters is that every code path (CFG, schedulers, VAE, img2img, SDXL conditioning)
is the one a real model takes. Shapes mirror the real families at toy widths: a 4-channel latent at 1/8 of
the pixel size (four VAE levels), a two-level UNet, and a two-layer CLIP text encoder (two for SDXL).
"""

from __future__ import annotations

import torch

# From the defining modules: to a type checker, diffusers' top-level names are its placeholder classes for missing
# backends (diffusers/__init__.py imports those first, in a try/except), which have no attributes.
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline
from diffusers.pipelines.stable_diffusion_xl.pipeline_stable_diffusion_xl import StableDiffusionXLPipeline
from diffusers.schedulers.scheduling_pndm import PNDMScheduler
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

# Weights are random but fixed: the same tiny model on every machine, so seeds mean the same pixels.
WEIGHTS_SEED = 0
TEXT_WIDTH = 32


def tiny_tokenizer() -> CLIPTokenizer:
    """A byte-level CLIP tokenizer with no merges: every character is a token, so any text encodes."""
    byte_chars = _bytes_to_unicode()
    vocab: dict[str, int] = {}
    for char in byte_chars:
        vocab[char] = len(vocab)
    for char in byte_chars:
        vocab[char + "</w>"] = len(vocab)
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _bytes_to_unicode() -> list[str]:
    # CLIP's reversible byte → printable-character table (the GPT-2 scheme), in byte order.
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = [], 0
    for byte in range(256):
        if byte in printable:
            chars.append(chr(byte))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def _text_config(vocab_size: int, projection_dim: int = 512) -> CLIPTextConfig:
    # projection_dim: CLIP's default; only the SDXL second encoder (CLIPTextModelWithProjection) uses it.
    return CLIPTextConfig(
        hidden_size=TEXT_WIDTH,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=vocab_size,
        max_position_embeddings=77,
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
        projection_dim=projection_dim,
    )


def _vae() -> AutoencoderKL:
    # Four levels → the real 8× latent downsampling, so sizes and the size step match real models.
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 16, 16, 16),
        norm_num_groups=8,
        layers_per_block=1,
        latent_channels=4,
        sample_size=64,
    )


def _scheduler() -> PNDMScheduler:
    # SD1.5's shipped scheduler and noise schedule, so "stock" diffusers behaviour is the real default.
    return PNDMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True, steps_offset=1
    )


def tiny_sd_pipeline() -> StableDiffusionPipeline:
    """An SD1-family pipeline (one CLIP encoder, no added conditioning) with toy widths."""
    torch.manual_seed(WEIGHTS_SEED)
    tokenizer = tiny_tokenizer()
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=(2, 4),
        norm_num_groups=16,
    )
    return StableDiffusionPipeline(
        vae=_vae(),
        text_encoder=CLIPTextModel(_text_config(len(tokenizer))),
        tokenizer=tokenizer,
        unet=unet,
        scheduler=_scheduler(),  # type: ignore[arg-type]  # annotated as the KarrasDiffusionSchedulers enum
        safety_checker=None,  # type: ignore[arg-type]  # diffusers takes None (no checker) but annotates a class
        feature_extractor=None,  # type: ignore[arg-type]  # as for safety_checker
        requires_safety_checker=False,
    )


def tiny_sdxl_pipeline() -> StableDiffusionXLPipeline:
    """An SDXL-family pipeline: two text encoders, pooled text + size/crop conditioning ("text_time")."""
    torch.manual_seed(WEIGHTS_SEED)
    tokenizer = tiny_tokenizer()
    time_embed_dim = 8
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        # Both encoders' hidden states are concatenated: 2 × TEXT_WIDTH.
        cross_attention_dim=2 * TEXT_WIDTH,
        attention_head_dim=(2, 4),
        norm_num_groups=16,
        addition_embed_type="text_time",
        addition_time_embed_dim=time_embed_dim,
        # Six size/crop numbers, each embedded, plus the second encoder's pooled projection.
        projection_class_embeddings_input_dim=6 * time_embed_dim + TEXT_WIDTH,
        transformer_layers_per_block=(1, 1),
    )
    vocab = len(tokenizer)
    return StableDiffusionXLPipeline(
        vae=_vae(),
        text_encoder=CLIPTextModel(_text_config(vocab)),
        text_encoder_2=CLIPTextModelWithProjection(_text_config(vocab, projection_dim=TEXT_WIDTH)),
        tokenizer=tokenizer,
        tokenizer_2=tiny_tokenizer(),
        unet=unet,
        scheduler=_scheduler(),  # type: ignore[arg-type]  # annotated as the KarrasDiffusionSchedulers enum
    )

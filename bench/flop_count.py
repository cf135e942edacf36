"""FLOPs and parameter counts of each family's published architectures, built on the meta device (no weights).

Each model (denoiser, text encoder, VAE) is built from its published config on torch's meta device and run once
under ``FlopCounterMode``, which counts matmul, convolution and attention FLOPs from shapes: the full T5-XXL and
Qwen3-4B included, the whole set takes seconds. A denoiser "pass" is one forward for one image (batch 1); a text
count is one prompt through an encoder at the token count the pipeline pads to; a VAE count is one decode.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

# From the defining modules, not top-level `diffusers` (whose names mypy sees as placeholders): see models/loader.py.
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
from diffusers.models.autoencoders.autoencoder_kl_flux2 import AutoencoderKLFlux2
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
from torch.utils.flop_counter import FlopCounterMode
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    Qwen3Config,
    Qwen3ForCausalLM,
    Qwen3Model,
    T5Config,
    T5EncoderModel,
)

from models.tiny_families.flux import FluxVariant, full_size_flux_transformer, full_size_flux_vae
from models.tiny_families.flux2_klein import full_size_flux2_klein_transformer, full_size_flux2_vae
from models.tiny_families.sd3 import SD3Variant, full_size_sd3_transformer, full_size_sd3_vae
from models.tiny_families.z_image import full_size_z_image_transformer

CLIP_TOKENS = 77
LONG_TOKENS = 512  # T5 for FLUX.1 dev and SD3 (its maximum), Qwen for klein and Z-Image (their pipelines' default)
SCHNELL_T5_TOKENS = 256  # FLUX.1 schnell was trained with at most 256

SD_VAE: dict[str, Any] = {
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "layers_per_block": 2,
    "latent_channels": 4,
}
SD15_UNET: dict[str, Any] = {"cross_attention_dim": 768, "attention_head_dim": 8, "sample_size": 64}
SDXL_UNET: dict[str, Any] = {
    "sample_size": 128,
    "block_out_channels": (320, 640, 1280),
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "transformer_layers_per_block": (1, 2, 10),
    "attention_head_dim": (5, 10, 20),
    "cross_attention_dim": 2048,
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
}


@dataclass(frozen=True)
class Part:
    """One model: FLOPs of the forward counted, and the values it holds in memory (parameters and stored buffers)."""

    flops: float
    params: int

    @property
    def bf16_bytes(self) -> float:
        return 2.0 * self.params


def _measure(model: torch.nn.Module, forward: Callable[[], object]) -> Part:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        forward()
    # Buffers too: SD3's positional table is a stored buffer (0.23 B values in 3.5 Medium, the gap between its
    # 2.24 B parameters and the published "2.5B").
    held = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    return Part(float(counter.get_total_flops()), held)


def _meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.zeros(*shape, dtype=dtype, device="meta")


# 1. Denoisers: one pass, one image at `side` pixels (latents at 1/8; transformers patchify 2×2 on top).


def unet_pass(config: dict[str, Any], side: int, sdxl: bool) -> Part:
    """SD1.5 / SDXL UNet, conditioned on 77 CLIP tokens (SDXL also on pooled text and size ids)."""
    with torch.device("meta"):
        unet = UNet2DConditionModel(**config)
    latents, text = _meta(1, 4, side // 8, side // 8), _meta(1, CLIP_TOKENS, config["cross_attention_dim"])
    extra = {"text_embeds": _meta(1, 1280), "time_ids": _meta(1, 6)} if sdxl else None
    return _measure(unet, lambda: unet(latents, _meta(1), text, added_cond_kwargs=extra))


def sd3_pass(variant: SD3Variant, t5_tokens: int, side: int = 1024) -> Part:
    """SD3 MMDiT: the joint context is the 77 CLIP tokens followed by the T5 tokens."""
    model = full_size_sd3_transformer(variant)
    latents, context = _meta(1, 16, side // 8, side // 8), _meta(1, CLIP_TOKENS + t5_tokens, 4096)
    return _measure(model, lambda: model(latents, context, _meta(1, 2048), _meta(1)))


def flux_pass(variant: FluxVariant, t5_tokens: int, side: int = 1024) -> Part:
    """FLUX.1: image tokens (2×2 packed latents) and T5 tokens; dev also embeds the guidance scale."""
    model = full_size_flux_transformer(variant)
    tokens = (side // 16) ** 2
    guidance = _meta(1) if variant == "dev" else None
    return _measure(
        model,
        lambda: model(
            hidden_states=_meta(1, tokens, 64),
            encoder_hidden_states=_meta(1, t5_tokens, 4096),
            pooled_projections=_meta(1, 768),
            timestep=_meta(1),
            img_ids=_meta(tokens, 3),
            txt_ids=_meta(t5_tokens, 3),
            guidance=guidance,
        ),
    )


def klein_pass(text_tokens: int, side: int = 1024) -> Part:
    """FLUX.2 klein 4B: image tokens and all (padded) text tokens, three Qwen layers' states side by side."""
    model = full_size_flux2_klein_transformer("4B")
    tokens = (side // 16) ** 2
    return _measure(
        model,
        lambda: model(
            hidden_states=_meta(1, tokens, 128),
            encoder_hidden_states=_meta(1, text_tokens, 7680),
            timestep=_meta(1),
            img_ids=_meta(1, tokens, 4, dtype=torch.long),
            txt_ids=_meta(1, text_tokens, 4, dtype=torch.long),
        ),
    )


def z_image_pass(caption_tokens: int, side: int = 1024) -> Part:
    """Z-Image: one stream of image patches and caption tokens (the pipeline drops padding; count the maximum)."""
    model = full_size_z_image_transformer()
    return _measure(model, lambda: model([_meta(16, 1, side // 8, side // 8)], _meta(1), [_meta(caption_tokens, 2560)]))


# 2. Text encoders, one prompt. Configs from each checkpoint's config.json: CLIP ViT-L/14
# (openai/clip-vit-large-patch14), OpenCLIP ViT-bigG/14 (SDXL's and SD3's text_encoder_2), T5 v1.1 XXL
# (google/t5-v1_1-xxl), Qwen3-4B (Qwen/Qwen3-4B; its Qwen3-4B-Base README states 36 layers and 32/8 query/KV heads).
# Vocabularies count toward memory, not FLOPs. Cached: several families share an encoder.


@functools.cache
def clip_encode(width: int, projection: bool) -> Part:
    """CLIP-L (width 768) or CLIP-bigG (1280) at 77 tokens, all hidden states returned as the pipelines ask."""
    layers, heads = {768: (12, 12), 1280: (32, 20)}[width]
    config = CLIPTextConfig(
        hidden_size=width,
        intermediate_size=4 * width,
        num_attention_heads=heads,
        num_hidden_layers=layers,
        projection_dim=width,
        max_position_embeddings=CLIP_TOKENS,
    )
    with torch.device("meta"):
        model = CLIPTextModelWithProjection(config) if projection else CLIPTextModel(config)
    tokens = _meta(1, CLIP_TOKENS, dtype=torch.long)
    return _measure(model, lambda: model(tokens, output_hidden_states=True))


@functools.cache
def t5_encode(tokens: int) -> Part:
    """The T5 v1.1 XXL encoder (4.76 B parameters)."""
    config = T5Config(
        vocab_size=32128,
        d_model=4096,
        d_kv=64,
        d_ff=10240,
        num_layers=24,
        num_heads=64,
        feed_forward_proj="gated-gelu",
        is_encoder_decoder=False,
    )
    with torch.device("meta"):
        model = T5EncoderModel(config)
    ids = _meta(1, tokens, dtype=torch.long)
    return _measure(model, lambda: model(ids))


@functools.cache
def qwen_encode(tokens: int, lm_head: bool) -> Part:
    """Qwen3-4B; klein loads it as a causal LM, whose head the pipeline runs over every position."""
    config = Qwen3Config(
        vocab_size=151936,
        hidden_size=2560,
        intermediate_size=9728,
        num_hidden_layers=36,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=128,
        tie_word_embeddings=True,
    )
    # Eager attention with an explicit mask, as the pipelines pass one: the SDPA mask path reads mask values, which
    # meta tensors lack. Eager attention's two matmuls count the same FLOPs as SDPA.
    config._attn_implementation = "eager"
    with torch.device("meta"):
        model = Qwen3ForCausalLM(config) if lm_head else Qwen3Model(config)
    ids, mask = _meta(1, tokens, dtype=torch.long), _meta(1, tokens, dtype=torch.long)
    return _measure(
        model, lambda: model(input_ids=ids, attention_mask=mask, output_hidden_states=True, use_cache=False)
    )


# 3. VAE: one decode (one image); memory of the whole autoencoder, since the pipeline loads it whole.


def vae_decode(vae: AutoencoderKL | AutoencoderKLFlux2, side: int) -> Part:
    latents = _meta(1, vae.config["latent_channels"], side // 8, side // 8)
    return _measure(vae, lambda: vae.decode(latents))


def sd_vae() -> AutoencoderKL:
    """The 4-channel SD1.5 / SDXL autoencoder on the meta device."""
    with torch.device("meta"):
        return AutoencoderKL(**SD_VAE)


@dataclass(frozen=True)
class Family:
    """One model family at its native size: a denoiser pass, its text encoders (one prompt), one VAE decode."""

    name: str
    side: int
    denoiser: Part
    texts: tuple[tuple[str, Part], ...]
    vae: Part

    @property
    def text(self) -> Part:
        parts = [part for _, part in self.texts]
        return Part(sum(p.flops for p in parts), sum(p.params for p in parts))


def families() -> list[Family]:
    """Count every family (seconds on the meta device)."""
    clip_l, clip_lp, clip_gp = clip_encode(768, False), clip_encode(768, True), clip_encode(1280, True)
    flux_vae = vae_decode(full_size_flux_vae(), 1024)
    sd3_vae = vae_decode(full_size_sd3_vae(), 1024)
    t5_long = t5_encode(LONG_TOKENS)
    sd3_texts = (("CLIP-L 77", clip_lp), ("CLIP-G 77", clip_gp), (f"T5-XXL {LONG_TOKENS}", t5_long))
    flux_texts = (("CLIP-L 77", clip_l), (f"T5-XXL {LONG_TOKENS}", t5_long))
    schnell_texts = (("CLIP-L 77", clip_l), (f"T5-XXL {SCHNELL_T5_TOKENS}", t5_encode(SCHNELL_T5_TOKENS)))
    sdxl_texts = (("CLIP-L 77", clip_l), ("CLIP-G 77", clip_gp))
    klein_texts = ((f"Qwen3-4B {LONG_TOKENS} + LM head", qwen_encode(LONG_TOKENS, True)),)
    z_texts = ((f"Qwen3-4B {LONG_TOKENS}", qwen_encode(LONG_TOKENS, False)),)
    return [
        Family("SD1.5", 512, unet_pass(SD15_UNET, 512, False), (("CLIP-L 77", clip_l),), vae_decode(sd_vae(), 512)),
        Family("SDXL", 1024, unet_pass(SDXL_UNET, 1024, True), sdxl_texts, vae_decode(sd_vae(), 1024)),
        Family("SD3.5 Medium", 1024, sd3_pass("3.5-medium", LONG_TOKENS), sd3_texts, sd3_vae),
        Family("SD3.5 Large", 1024, sd3_pass("3.5-large", LONG_TOKENS), sd3_texts, sd3_vae),
        Family("FLUX.1 schnell", 1024, flux_pass("schnell", SCHNELL_T5_TOKENS), schnell_texts, flux_vae),
        Family("FLUX.1 dev", 1024, flux_pass("dev", LONG_TOKENS), flux_texts, flux_vae),
        Family("FLUX.2 klein 4B", 1024, klein_pass(LONG_TOKENS), klein_texts, vae_decode(full_size_flux2_vae(), 1024)),
        Family("Z-Image-Turbo", 1024, z_image_pass(LONG_TOKENS), z_texts, flux_vae),
    ]

"""Full-size pipelines of each transformer family from their published configurations, with random weights.

Nothing is downloaded: the transformer and VAE come from models/tiny_families' full-size builders (published
configs, built on the meta device), the text encoders from the published configs below; all are materialised with
random values in the target dtype directly on the target device, so a model's speed and memory can be measured on
any machine that can hold it. Tokenizers are the tiny ones: their ids fit the full vocabularies, and every
pipeline pads text to the same length the real tokenizer would (77 CLIP tokens, 256–512 T5 or Qwen tokens), so the
encoders do the real amount of work. The pictures are noise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from accelerate import init_empty_weights

# diffusers classes from their defining modules: mypy reads the top-level names as placeholder classes.
from diffusers.pipelines.flux.pipeline_flux import FluxPipeline
from diffusers.pipelines.flux2.pipeline_flux2_klein import Flux2KleinPipeline
from diffusers.pipelines.stable_diffusion_3.pipeline_stable_diffusion_3 import StableDiffusion3Pipeline
from diffusers.pipelines.z_image.pipeline_z_image import ZImagePipeline
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler
from torch import nn
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

from models.tiny_families import flux, flux2_klein, sd3, text, z_image

# Published text-encoder configs (each repository's config.json; sizes cross-checked against the published
# parameter counts by tests/bench/test_full_size.py): CLIP-L is openai/clip-vit-large-patch14's text tower (123M),
# CLIP-G the OpenCLIP ViT-bigG text tower of SDXL's and SD3's text_encoder_2 (695M), T5 google/t5-v1_1-xxl's encoder
# (4.76B), Qwen3-4B and Qwen3-8B Qwen/Qwen3-4B and Qwen/Qwen3-8B (4.02B, 8.19B).
CLIP_L: dict[str, Any] = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "projection_dim": 768,
    "hidden_act": "quick_gelu",
}
CLIP_G: dict[str, Any] = {
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_hidden_layers": 32,
    "num_attention_heads": 20,
    "projection_dim": 1280,
    "hidden_act": "gelu",
}
CLIP_VOCAB = 49408
T5_XXL: dict[str, Any] = {
    "vocab_size": 32128,
    "d_model": 4096,
    "d_ff": 10240,
    "d_kv": 64,
    "num_layers": 24,
    "num_heads": 64,
    "relative_attention_num_buckets": 32,
    "feed_forward_proj": "gated-gelu",
    "is_encoder_decoder": False,
    "pad_token_id": 0,
    "eos_token_id": 1,
}
QWEN3: dict[str, dict[str, Any]] = {
    "4B": {"hidden_size": 2560, "intermediate_size": 9728, "num_hidden_layers": 36, "tie_word_embeddings": True},
    "8B": {"hidden_size": 4096, "intermediate_size": 12288, "num_hidden_layers": 36, "tie_word_embeddings": False},
}
QWEN3_COMMON: dict[str, Any] = {"vocab_size": 151936, "num_attention_heads": 32, "num_key_value_heads": 8,
                                "head_dim": 128, "max_position_embeddings": 40960, "rope_theta": 1_000_000.0,
                                "rms_norm_eps": 1e-6}  # fmt: skip


def clip_l(projection: bool) -> nn.Module:
    config = _clip_config(CLIP_L)
    with torch.device("meta"):
        return CLIPTextModelWithProjection(config) if projection else CLIPTextModel(config)


def clip_g() -> nn.Module:
    with torch.device("meta"):
        return CLIPTextModelWithProjection(_clip_config(CLIP_G))


def t5_xxl() -> nn.Module:
    with torch.device("meta"):
        return T5EncoderModel(T5Config(**T5_XXL))


def qwen3(size: str, causal_lm: bool) -> nn.Module:
    config = Qwen3Config(**QWEN3_COMMON, **QWEN3[size])
    with torch.device("meta"):
        return Qwen3ForCausalLM(config) if causal_lm else Qwen3Model(config)


def _clip_config(published: dict[str, Any]) -> CLIPTextConfig:
    # The tiny tokenizer's start/end ids (within the full vocabulary): CLIP pools at the end token.
    tokens = len(text.clip_tokenizer())
    return CLIPTextConfig(**published, vocab_size=CLIP_VOCAB, max_position_embeddings=77,
                          bos_token_id=tokens - 2, eos_token_id=tokens - 1, pad_token_id=tokens - 1)  # fmt: skip


def _sd3(variant: sd3.SD3Variant) -> Callable[[], dict[str, Any]]:
    return lambda: {
        "pipeline": StableDiffusion3Pipeline,
        "transformer": sd3.full_size_sd3_transformer(variant),
        "vae": sd3.full_size_sd3_vae(),
        "text_encoder": clip_l(projection=True),
        "text_encoder_2": clip_g(),
        "text_encoder_3": t5_xxl(),
        "tokenizer": text.clip_tokenizer(),
        "tokenizer_2": text.clip_tokenizer(),
        "tokenizer_3": text.t5_tokenizer(),
        "scheduler": FlowMatchEulerDiscreteScheduler(shift=sd3.SCHEDULER_SHIFT),
    }


def _flux(variant: flux.FluxVariant) -> Callable[[], dict[str, Any]]:
    return lambda: {
        "pipeline": FluxPipeline,
        "transformer": flux.full_size_flux_transformer(variant),
        "vae": flux.full_size_flux_vae(),
        "text_encoder": clip_l(projection=False),
        "text_encoder_2": t5_xxl(),
        "tokenizer": text.clip_tokenizer(),
        "tokenizer_2": text.t5_tokenizer(),
        "scheduler": FlowMatchEulerDiscreteScheduler(**flux.PUBLISHED_SCHEDULER[variant]),
    }


def _klein(size: flux2_klein.KleinSize) -> Callable[[], dict[str, Any]]:
    return lambda: {
        "pipeline": Flux2KleinPipeline,
        "transformer": flux2_klein.full_size_flux2_klein_transformer(size),
        "vae": flux2_klein.full_size_flux2_vae(),
        "text_encoder": qwen3("4B" if size == "4B" else "8B", causal_lm=True),
        "tokenizer": text.qwen_tokenizer(),
        "scheduler": FlowMatchEulerDiscreteScheduler(**flux2_klein.PUBLISHED_SCHEDULER),
        "is_distilled": True,
    }


def _z_image() -> dict[str, Any]:
    return {
        "pipeline": ZImagePipeline,
        "transformer": z_image.full_size_z_image_transformer(),
        "vae": flux.full_size_flux_vae(),  # Z-Image ships the FLUX.1 autoencoder
        "text_encoder": qwen3("4B", causal_lm=False),
        "tokenizer": text.qwen_tokenizer(),
        "scheduler": FlowMatchEulerDiscreteScheduler(**z_image.PUBLISHED_SCHEDULER),
    }


FAMILIES: dict[str, Callable[[], dict[str, Any]]] = {
    "sd3-medium": _sd3("3-medium"),
    "sd3.5-medium": _sd3("3.5-medium"),
    "sd3.5-large": _sd3("3.5-large"),
    "flux-schnell": _flux("schnell"),
    "flux-dev": _flux("dev"),
    "flux2-klein-4b": _klein("4B"),
    "flux2-klein-9b": _klein("9B"),
    "z-image": _z_image,
}


def parameter_count(family: str) -> dict[str, int]:
    """Values each module of a full-size family holds, built on the meta device only: parameters (tied ones once, as
    T5's and Qwen3-4B's embeddings are) and persistent buffers (SD3's position table, which its checkpoints store)."""
    counts = {}
    for name, module in _modules(FAMILIES[family]()).items():
        saved = module.state_dict().keys()
        buffers = sum(b.numel() for key, b in module.named_buffers() if key in saved)
        counts[name] = sum(p.numel() for p in module.parameters()) + buffers
    return counts


def build(family: str, device: str, dtype: torch.dtype, seed: int = 0) -> Any:
    """The family's full-size pipeline, random weights in ``dtype`` on ``device``; raises KeyError for a name."""
    parts = FAMILIES[family]()
    generator = torch.Generator(device).manual_seed(seed)
    for name, module in _modules(parts).items():
        parts[name] = materialise(module, device, dtype, generator)
    pipeline = parts.pop("pipeline")
    return pipeline(**parts)


def materialise(module: nn.Module, device: str, dtype: torch.dtype, generator: torch.Generator) -> nn.Module:
    """A meta-device module made real on ``device`` in ``dtype`` with random weights, without any fp32 copy.

    Weights are N(0, 0.02), norm scales 1 and biases 0; tied weights stay tied. Buffers (SD3's sin-cos position
    table, the FLUX.2 VAE's batch-norm statistics, rotary frequencies) are what the module's own constructor
    computes: a twin is built with its parameters on the meta device and its buffers real.
    """
    with init_empty_weights(include_buffers=False):
        twin = _rebuild(module)
    buffers = dict(twin.named_buffers())
    # to_empty gives every registration of a tied weight (T5's and Qwen3-4B's embeddings) its own storage: re-tie.
    places: dict[int, list[tuple[nn.Module, str]]] = {}
    for owner in module.modules():
        for key, value in owner._parameters.items():
            if value is not None:
                places.setdefault(id(value), []).append((owner, key))
    # nn.Module.to, not diffusers' override, which warns about fp32-kept modules that none of these models has.
    module = nn.Module.to(module, dtype=dtype).to_empty(device=device)
    for (owner, key), *others in places.values():
        for other, other_key in others:
            setattr(other, other_key, getattr(owner, key))
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if parameter.ndim > 1:
                parameter.normal_(0.0, 0.02, generator=generator)
            else:
                parameter.fill_(1.0 if name.endswith("weight") else 0.0)
        for name, buffer in module.named_buffers():
            buffer.copy_(buffers[name].to(buffer.dtype))
    return module.eval()


def _rebuild(module: nn.Module) -> nn.Module:
    config: Any = getattr(module, "config")  # noqa: B009  # diffusers' and transformers' models both keep one
    from_config = getattr(type(module), "from_config", None)
    return from_config(config) if from_config is not None else type(module)(config)


def _modules(parts: dict[str, Any]) -> dict[str, nn.Module]:
    return {name: part for name, part in parts.items() if isinstance(part, nn.Module)}

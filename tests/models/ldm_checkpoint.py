"""Write a diffusers SD1-family pipeline as one original-layout (LDM) ``.safetensors`` checkpoint, for tests.

Single-file checkpoints (what model sites distribute) use the CompVis key names; diffusers converts them on
load. This is the inverse mapping, generic over block counts and layers per block, so the tiny test model can
be exported and read back through ``from_single_file``.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline
from safetensors.torch import save_file

_RESNET = (("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"), ("conv2", "out_layers.3"),
           ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection"))  # fmt: skip
_UNET_FIXED = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
               "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}  # fmt: skip
_VAE_ATTENTION = (("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out"))


def save_ldm_checkpoint(pipe: StableDiffusionPipeline, path: Path) -> None:
    """Save UNet, VAE and CLIP text encoder of ``pipe`` as one LDM-layout safetensors file."""
    state = {f"model.diffusion_model.{k}": v for k, v in _unet(pipe.unet).items()}
    state |= {f"first_stage_model.{k}": v for k, v in _vae(pipe.vae).items()}
    # Checkpoints name the CLIP weights "text_model.…" (transformers 5 state dicts leave that prefix out).
    text = {
        k if k.startswith("text_model.") else f"text_model.{k}": v for k, v in pipe.text_encoder.state_dict().items()
    }
    state |= {f"cond_stage_model.transformer.{k}": v for k, v in text.items()}
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))


def _unet(unet) -> dict[str, torch.Tensor]:
    per_down = unet.config.layers_per_block + 1  # resnets + one downsampler slot per level
    with_attention = [bool(block.attentions) if hasattr(block, "attentions") else False for block in unet.up_blocks]
    out = {}
    for key, value in unet.state_dict().items():
        name, rest = _split(key)
        if name in _UNET_FIXED:
            out[f"{_UNET_FIXED[name]}.{rest}"] = value
            continue
        if m := re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
            i, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
            key = f"input_blocks.{1 + i * per_down + j}.{0 if kind == 'resnets' else 1}.{_resnet(kind, rest)}"
        elif m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
            key = f"input_blocks.{(int(m[1]) + 1) * per_down}.0.op.{m[2]}"
        elif m := re.match(r"mid_block\.(resnets|attentions)\.(\d+)\.(.*)", key):
            index = 1 if m[1] == "attentions" else 2 * int(m[2])
            key = f"middle_block.{index}.{_resnet(m[1], m[3])}"
        elif m := re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
            i, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
            key = f"output_blocks.{i * per_down + j}.{0 if kind == 'resnets' else 1}.{_resnet(kind, rest)}"
        elif m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.(.*)", key):
            i = int(m[1])
            key = f"output_blocks.{i * per_down + per_down - 1}.{2 if with_attention[i] else 1}.{m[2]}"
        out[key] = value
    return out


def _vae(vae) -> dict[str, torch.Tensor]:
    levels = len(vae.config.block_out_channels)
    out = {}
    for key, value in vae.state_dict().items():
        key = key.replace("conv_shortcut", "nin_shortcut").replace("conv_norm_out", "norm_out")
        key = re.sub(r"encoder\.down_blocks\.(\d+)\.resnets\.", r"encoder.down.\1.block.", key)
        key = re.sub(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.", r"encoder.down.\1.downsample.", key)
        key = re.sub(
            r"decoder\.up_blocks\.(\d+)\.resnets\.", lambda m: f"decoder.up.{levels - 1 - int(m[1])}.block.", key
        )
        key = re.sub(
            r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.",
            lambda m: f"decoder.up.{levels - 1 - int(m[1])}.upsample.",
            key,
        )
        key = re.sub(r"mid_block\.resnets\.(\d+)\.", lambda m: f"mid.block_{int(m[1]) + 1}.", key)
        if "mid_block.attentions.0." in key:
            key = key.replace("mid_block.attentions.0.", "mid.attn_1.")
            for ours, theirs in _VAE_ATTENTION:
                key = key.replace(f"attn_1.{ours}.", f"attn_1.{theirs}.")
            if key.endswith("weight") and value.ndim == 2:
                value = value[:, :, None, None]  # LDM uses 1×1 convolutions for attention projections
        out[key] = value
    return out


def _split(key: str) -> tuple[str, str]:
    name, _, rest = key.rpartition(".")
    return name, rest


def _resnet(kind: str, rest: str) -> str:
    if kind != "resnets":
        return rest
    for ours, theirs in _RESNET:
        if rest.startswith(ours + "."):
            return theirs + rest[len(ours) :]
    return rest

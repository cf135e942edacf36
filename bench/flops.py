"""Count the FLOPs of one 2×2 grid for SD1.5 and SDXL, from their published architectures, on the meta device.

No weights are needed: the real UNet, VAE decoder and CLIP text encoder are built with the shipped configs on
torch's meta device and run under ``FlopCounterMode``, which counts matmul/conv/attention FLOPs from shapes.
Run: ``.venv/bin/python -m bench.flops``. The figures feed docs/performance.md.
"""

from __future__ import annotations

import torch

# From the defining modules, not top-level `diffusers` (whose names mypy sees as placeholders): see models/loader.py.
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
from torch.utils.flop_counter import FlopCounterMode
from transformers import CLIPTextConfig, CLIPTextModel

IMAGES = 4  # a grid
CFG = 2  # classifier-free guidance doubles the UNet batch

SD_VAE = {
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "layers_per_block": 2,
    "latent_channels": 4,
}
SD15_UNET = {"cross_attention_dim": 768, "attention_head_dim": 8, "sample_size": 64}
SDXL_UNET = {
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
CLIP_L = {"hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12, "num_hidden_layers": 12}
CLIP_BIGG = {"hidden_size": 1280, "intermediate_size": 5120, "num_attention_heads": 20, "num_hidden_layers": 32}


def _count(fn) -> float:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        fn()
    return counter.get_total_flops()


def unet_flops(config: dict, side: int, sdxl: bool) -> float:
    """FLOPs of one UNet forward for one image at ``side`` pixels."""
    with torch.device("meta"):
        unet = UNet2DConditionModel(**config)
        latents = torch.zeros(1, 4, side // 8, side // 8)
        text = torch.zeros(1, 77, config["cross_attention_dim"])
        extra = {"text_embeds": torch.zeros(1, 1280), "time_ids": torch.zeros(1, 6)} if sdxl else None
    return _count(lambda: unet(latents, torch.tensor(999.0, device="meta"), text, added_cond_kwargs=extra))


def vae_decode_flops(side: int) -> float:
    """FLOPs of one VAE decode at ``side`` pixels."""
    with torch.device("meta"):
        vae = AutoencoderKL(**SD_VAE)
        latents = torch.zeros(1, 4, side // 8, side // 8)
    return _count(lambda: vae.decode(latents))


def text_flops(config: dict) -> float:
    with torch.device("meta"):
        model = CLIPTextModel(CLIPTextConfig(**config, max_position_embeddings=77))
        tokens = torch.zeros(1, 77, dtype=torch.long)
    return _count(lambda: model(tokens))


def grid_flops(unet: float, vae: float, text: float, steps: int) -> float:
    """Text (prompt + negative), steps × CFG × 4 UNet passes, four VAE decodes."""
    return 2 * text + steps * CFG * IMAGES * unet + IMAGES * vae


# H100 SXM dense bf16 tensor-core peak (the PCIe card: 756); the floor assumes every FLOP at peak.
H100_BF16_FLOPS = 989e12


def main() -> None:
    for name, config, side, sdxl, texts in (
        ("SD1.5", SD15_UNET, 512, False, (CLIP_L,)),
        ("SDXL", SDXL_UNET, 1024, True, (CLIP_L, CLIP_BIGG)),
    ):
        unet, vae = unet_flops(config, side, sdxl), vae_decode_flops(side)
        text = sum(text_flops(c) for c in texts)
        parts = f"UNet {unet / 1e12:.3f} TFLOP/pass, VAE decode {vae / 1e12:.3f} TFLOP, text {text / 1e9:.1f} GFLOP"
        print(f"{name} {side}px: {parts}")
        for steps in (20, 30):
            total = grid_flops(unet, vae, text, steps)
            floor = total / H100_BF16_FLOPS
            print(f"  grid at {steps} steps: {total / 1e12:.1f} TFLOP, H100 floor {floor:.2f}s")


if __name__ == "__main__":
    main()

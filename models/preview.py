"""Cheap progress previews: a linear latent → RGB projection, no VAE decode and no extra model.

SD latents are close to a linear image code: each latent pixel's 4 channels map to the RGB of its 8×8 patch
by a fixed 4×3 matrix well enough for a thumbnail. The SD1 and SDXL matrices are the widely used ones
(ComfyUI's ``latent_rgb_factors``, fitted on each family's VAE). Other VAEs (the demo model, the tiny test
models, the 16- and 32-channel VAEs of the transformer families) get a matrix fitted once at load by least
squares: decode a few smooth random latents and regress the decoded pixels (averaged per latent pixel's patch)
on the latents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from PIL import Image

from models.grid import make_grid

# Rows are latent channels, columns R, G, B; applied to latents as the UNet sees them (VAE-scaled).
SD1_FACTORS = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
SDXL_FACTORS = (
    (0.3651, 0.4232, 0.4341),
    (-0.2533, -0.0042, 0.1068),
    (0.1076, 0.1111, -0.0362),
    (-0.3165, -0.2492, -0.2188),
)
SDXL_BIAS = (0.1084, -0.0175, -0.0011)

# Previews are upscaled (bilinear) until their long side reaches this, so a 16×16 latent is still visible.
MIN_PREVIEW_SIDE = 256


@dataclass(frozen=True)
class Projection:
    """latent (C channels) → RGB in [-1, 1]: ``rgb = latent @ weight + bias``."""

    weight: torch.Tensor  # [C, 3]
    bias: torch.Tensor  # [3]

    def to_image(self, latents: torch.Tensor) -> Image.Image:
        """A small RGB preview of [B, C, h, w] latents: a 2×2 grid for four, else the first one."""
        with torch.no_grad():
            x = latents.detach().float().cpu()
            rgb = torch.einsum("bchw,cr->brhw", x, self.weight) + self.bias.view(1, 3, 1, 1)
            pixels = ((rgb.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        cells = [Image.fromarray(p) for p in pixels]
        image = make_grid(cells) if len(cells) == 4 else cells[0]
        scale = max(1, -(-MIN_PREVIEW_SIDE // max(image.size)))
        if scale > 1:
            image = image.resize((image.width * scale, image.height * scale), Image.Resampling.BILINEAR)
        return image


def projection_for(family: str, vae) -> Projection:
    """The known projection of SD1/SD2/SDXL VAEs; a fitted one for any other (demo) VAE."""
    if family in ("sd1", "sd2") and vae.config.latent_channels == 4:
        return Projection(torch.tensor(SD1_FACTORS), torch.zeros(3))
    if family == "sdxl" and vae.config.latent_channels == 4:
        return Projection(torch.tensor(SDXL_FACTORS), torch.tensor(SDXL_BIAS))
    return fit_projection(vae)


def fit_projection(vae, samples: int = 8, size: int = 64, seed: int = 0) -> Projection:
    """Least-squares latent → RGB fit of what ``vae`` decodes from smooth random latents (runs once, at load).

    Latents are as the denoiser sees them: divided by the VAE's scaling factor (and shifted back by its shift
    factor, for the VAEs that have one) before decoding.
    """
    factor = 2 ** (len(vae.config.block_out_channels) - 1)
    shift = getattr(vae.config, "shift_factor", None) or 0.0

    def decode(latents: torch.Tensor) -> torch.Tensor:
        return vae.decode(latents.to(vae.device, vae.dtype) / vae.config.scaling_factor + shift).sample

    return fit_decoder(decode, vae.config.latent_channels, factor, samples=samples, size=size, seed=seed)


def fit_decoder(
    decode: Callable[[torch.Tensor], torch.Tensor],
    channels: int,
    factor: int,
    samples: int = 8,
    size: int = 64,
    seed: int = 0,
) -> Projection:
    """Least-squares fit of ``decode`` ([B, channels, h, w] latents → pixels ``factor`` times larger, in [-1, 1])."""
    generator = torch.Generator("cpu").manual_seed(seed)
    side = size // factor
    # Smooth fields (a 4×4 grid upsampled) look more like real latents than white noise does.
    coarse = torch.randn(samples, channels, 4, 4, generator=generator)
    latents = F.interpolate(coarse, size=(side, side), mode="bilinear", align_corners=False)
    with torch.no_grad():
        decoded = decode(latents).float().cpu()
    target = F.adaptive_avg_pool2d(decoded.clamp(-1, 1), (side, side))
    x = latents.permute(0, 2, 3, 1).reshape(-1, channels)
    x = torch.cat([x, torch.ones(x.shape[0], 1)], dim=1)
    y = target.permute(0, 2, 3, 1).reshape(-1, 3)
    solution = torch.linalg.lstsq(x, y).solution
    return Projection(weight=solution[:-1].contiguous(), bias=solution[-1].contiguous())

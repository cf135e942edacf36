"""The tiny 16-channel KL autoencoder that SD3, FLUX.1 and Z-Image share (FLUX.2 has its own, in flux2_klein).

All three published VAEs are one architecture: four ``DownEncoderBlock2D`` levels (8× downsampling), 16 latent
channels, no quant convs. They differ only in how latents are normalised before the transformer sees them
(``(z - shift_factor) * scaling_factor``), so the factors are arguments and each family passes its published pair.
"""

from __future__ import annotations

# diffusers classes from their defining modules: mypy reads the top-level names as placeholder classes.
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL

LATENT_CHANNELS = 16


def tiny_vae16(*, scaling_factor: float, shift_factor: float) -> AutoencoderKL:
    """The shared VAE architecture at toy widths: real 8× scale factor and 16 channels, 16-wide blocks."""
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 16, 16, 16),
        layers_per_block=1,
        norm_num_groups=8,
        latent_channels=LATENT_CHANNELS,
        sample_size=64,
        use_quant_conv=False,
        use_post_quant_conv=False,
        scaling_factor=scaling_factor,
        shift_factor=shift_factor,
    )

"""--tile's mechanism: with circular padding the UNet and the VAE decoder commute with wrap-around shifts."""

from __future__ import annotations

import torch

from models.engine import Engine
from models.tiling import seamless


def _unet_and_shifted(engine: Engine, tile: bool) -> tuple[torch.Tensor, torch.Tensor]:
    unet = engine.model.pipe.unet
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(1, 4, 8, 8, generator=generator)
    text = torch.randn(1, 77, unet.config.cross_attention_dim, generator=generator)
    # Shift by 2 latent pixels: the tiny UNet downsamples once by 2, so even shifts are exact symmetries.
    with torch.no_grad(), seamless(unet, enabled=tile):
        out = unet(latents, 500, text).sample
        shifted = unet(torch.roll(latents, 2, dims=-1), 500, text).sample
    return torch.roll(out, 2, dims=-1), shifted


def test_unet_wraps_around_only_when_tiling(engine: Engine) -> None:
    """Shifting the latents around the edge shifts the UNet's prediction the same way with --tile, not without."""
    expected, shifted = _unet_and_shifted(engine, tile=True)
    assert torch.allclose(expected, shifted, atol=1e-4)
    expected, shifted = _unet_and_shifted(engine, tile=False)
    assert not torch.allclose(expected, shifted, atol=1e-2)


def test_vae_decoder_wraps_around_when_tiling(engine: Engine) -> None:
    """A latent shifted by one pixel decodes to the image shifted by eight pixels, edges included, with --tile."""
    vae = engine.model.pipe.vae
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), seamless(vae):
        image = vae.decode(latents).sample
        shifted = vae.decode(torch.roll(latents, 1, dims=-2)).sample
    assert torch.allclose(torch.roll(image, 8, dims=-2), shifted, atol=1e-4)


def test_padding_is_restored(engine: Engine) -> None:
    """Leaving the block restores every convolution's own padding mode, even after an error."""
    unet = engine.model.pipe.unet
    try:
        with seamless(unet):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert {m.padding_mode for m in unet.modules() if isinstance(m, torch.nn.Conv2d)} == {"zeros"}

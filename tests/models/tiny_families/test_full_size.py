"""The published full-size architectures build on the meta device with the published parameter counts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from models.tiny_families import flux, flux2_klein, sd3, z_image

# Published sizes are rounded ("2.5B", "12B"); 5% covers the rounding and nothing structural.
TOLERANCE = 0.05

TRANSFORMERS: list[tuple[str, Callable[[], torch.nn.Module], float]] = [
    *((f"sd{v}", lambda v=v: sd3.full_size_sd3_transformer(v), sd3.PUBLISHED_PARAMETERS[v]) for v in sd3.VARIANTS),
    *((f"flux-{v}", lambda v=v: flux.full_size_flux_transformer(v), flux.PUBLISHED_PARAMETERS) for v in flux.VARIANTS),
    *(
        (f"flux2-klein-{size}", lambda size=size: flux2_klein.full_size_flux2_klein_transformer(size), count)
        for size, count in flux2_klein.PUBLISHED_PARAMETERS.items()
    ),
    ("z-image-turbo", z_image.full_size_z_image_transformer, z_image.PUBLISHED_PARAMETERS),
]


def checkpoint_numel(model: torch.nn.Module) -> int:
    """Values a checkpoint of the model holds: parameters and persistent buffers.

    SD3's positional-embedding table is a persistent buffer (226M values in 3.5 Medium); the published "2.5B"
    counts it, as the original checkpoint stores it as a weight.
    """
    return sum(tensor.numel() for tensor in model.state_dict().values())


@pytest.mark.parametrize(("build", "published"), [t[1:] for t in TRANSFORMERS], ids=[t[0] for t in TRANSFORMERS])
def test_full_size_transformer_matches_the_published_size(
    build: Callable[[], torch.nn.Module], published: float
) -> None:
    """The transformer built from the published config has the published size, without allocating any weights."""
    model = build()
    assert {tensor.device.type for tensor in model.state_dict().values()} == {"meta"}
    assert checkpoint_numel(model) == pytest.approx(published, rel=TOLERANCE)


@pytest.mark.parametrize("build", [sd3.full_size_sd3_vae, flux.full_size_flux_vae, flux2_klein.full_size_flux2_vae])
def test_full_size_vaes_are_the_84m_autoencoder(build: Callable[[], torch.nn.Module]) -> None:
    """Each published VAE is the 84M-parameter four-level autoencoder (FLUX.1's ae.safetensors is 335 MB in fp32)."""
    model = build()
    assert {tensor.device.type for tensor in model.state_dict().values()} == {"meta"}
    assert checkpoint_numel(model) == pytest.approx(84e6, rel=0.01)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: sd3.build_sd3("4-medium"), "variant='4-medium' is not an SD3 variant"),
        (lambda: flux.build_flux("pro"), "variant='pro' is not a FLUX.1 variant"),
        (lambda: flux2_klein.build_flux2_klein("turbo"), "variant='turbo' is not a FLUX.2 klein variant"),
        (lambda: flux2_klein.full_size_flux2_klein_transformer("32B"), "size='32B' is not a FLUX.2 klein size"),
    ],
)
def test_unknown_variants_are_refused_by_name(build: Callable[[], object], message: str) -> None:
    """An unknown variant or size raises ValueError naming the bad value."""
    with pytest.raises(ValueError, match=message):
        build()

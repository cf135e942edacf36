"""--tile: seamless textures by circular padding in every convolution of the UNet and the VAE.

With circular padding a convolution at the left edge sees the right edge as its neighbour (and top sees
bottom), so the denoised latent and the decoded pixels both wrap around: copies laid side by side meet
without a seam. The change is made for one call and restored afterwards, because the modules are shared
with every other job.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn


@contextlib.contextmanager
def seamless(*modules: nn.Module, enabled: bool = True) -> Iterator[None]:
    """Within the block, every Conv2d under ``modules`` pads circularly (when ``enabled``)."""
    if not enabled:
        yield
        return
    convs = [m for module in modules for m in module.modules() if isinstance(m, nn.Conv2d)]
    saved = [conv.padding_mode for conv in convs]
    for conv in convs:
        # nn.Conv2d pads explicitly with F.pad(mode=padding_mode) when the mode is not "zeros".
        conv.padding_mode = "circular"
    try:
        yield
    finally:
        for conv, mode in zip(convs, saved, strict=True):
            conv.padding_mode = mode

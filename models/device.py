"""Device and dtype, chosen once per process.

CUDA runs bf16 where the GPU supports it (same range as fp32, so no VAE overflow) else fp16; Apple MPS runs
fp16, and bf16 for the transformer families (SD3, FLUX, Z-Image: trained and published in bf16, whose activations
overflow fp16); CPU runs fp32, with bf16 autocast as an opt-in for CPUs that have native bf16. IMAGINE_DTYPE
overrides all of it.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch

from models.settings import EngineSettings

logger = logging.getLogger(__name__)

DTYPES: dict[str, torch.dtype] = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


@dataclass(frozen=True)
class Placement:
    """Where the model runs: ``device`` ("cuda", "mps", "cpu"), weight ``dtype`` name, and CPU autocast."""

    device: str
    dtype: str
    cpu_autocast: bool = False

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        """bf16 autocast on CPU when enabled, else nothing."""
        if self.cpu_autocast:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()


def choose(settings: EngineSettings, transformer: bool = False) -> Placement:
    """Pick device and dtype from settings ("auto" → the best available) for a model of a ``transformer`` family or
    not; raises ValueError for a missing device."""
    device = settings.device
    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise ValueError("IMAGINE_DEVICE=cuda but no CUDA GPU is visible to torch")
    elif device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("IMAGINE_DEVICE=mps but the Apple MPS backend is not available")

    dtype = settings.dtype
    if dtype == "auto":
        if device == "cuda":
            dtype = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
            if transformer and dtype == "fp16":
                logger.warning("this GPU has no bf16; running a transformer family in fp16, which may overflow")
        elif device == "mps":
            dtype = "bf16" if transformer else "fp16"
        else:
            dtype = "fp32"
    autocast = device == "cpu" and dtype == "fp32" and settings.cpu_bf16_autocast and cpu_has_bf16()
    if settings.cpu_bf16_autocast and device == "cpu" and not autocast:
        logger.warning("cpu_bf16_autocast requested but this CPU has no native bf16; staying in fp32")
    return Placement(device=device, dtype=dtype, cpu_autocast=autocast)


def cpu_has_bf16() -> bool:
    """Whether oneDNN reports native bf16 on this CPU (AVX512-BF16 or AMX)."""
    with contextlib.suppress(Exception):
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False

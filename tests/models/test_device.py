"""Device and dtype choice, and the opt-in CPU bf16 autocast path."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from models import device
from models.engine import Engine
from models.settings import EngineSettings
from tests.models.conftest import make_spec


def test_cpu_defaults_to_fp32_without_autocast() -> None:
    """On a CPU, auto picks fp32 and no autocast."""
    placement = device.choose(EngineSettings(device="cpu"))
    assert (placement.device, placement.dtype, placement.cpu_autocast) == ("cpu", "fp32", False)
    assert placement.torch_dtype is torch.float32


def test_autocast_needs_native_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    """cpu_bf16_autocast is honoured only where the CPU has native bf16."""
    settings = EngineSettings(device="cpu", cpu_bf16_autocast=True)
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: False)
    assert not device.choose(settings).cpu_autocast
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: True)
    assert device.choose(settings).cpu_autocast


def test_explicit_dtype_is_kept() -> None:
    """An explicit dtype wins over auto."""
    assert device.choose(EngineSettings(device="cpu", dtype="bf16")).dtype == "bf16"


def test_bf16_autocast_generates(make_engine: Callable[..., Engine], monkeypatch: pytest.MonkeyPatch) -> None:
    """With autocast on, the engine still makes four valid images (weights stay fp32)."""
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: True)
    engine = make_engine(cpu_bf16_autocast=True)
    assert engine.placement.cpu_autocast and engine.dtype == "fp32"
    result = engine.run(make_spec())
    assert len(result.images) == 4 and all(image.getextrema() != ((0, 0),) * 3 for image in result.images)

"""Out of GPU memory: a batch of four is retried one image at a time before failing with a clear message.

Whatever runs out of memory, what leaves the engine is the worker's EngineError with code ``oom``, never torch's
error: the worker does not know torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from models.engine import Engine, EngineError
from tests.models.conftest import distance, make_spec
from worker.engine import OUT_OF_MEMORY, ErrorCode


def _oom_when_batched(engine: Engine, monkeypatch: pytest.MonkeyPatch, limit: int) -> list[int]:
    """Make the pipeline raise CUDA's OOM error for batches larger than ``limit``; returns batch sizes seen."""
    pipe = engine.model.pipe
    call = type(pipe).__call__
    batches: list[int] = []

    def tight(self, *args, **kwargs):
        batch = kwargs["prompt_embeds"].shape[0]
        batches.append(batch)
        if batch > limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return call(self, *args, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", tight)
    return batches


def test_oom_falls_back_to_one_image_at_a_time(make_engine: Callable[..., Engine], monkeypatch) -> None:
    """When four images do not fit, the engine makes them one by one, with the same pixels as the batch."""
    engine = make_engine()
    expected = engine.run(make_spec(seed=31))
    batches = _oom_when_batched(engine, monkeypatch, limit=1)
    result = engine.run(make_spec(seed=31))
    assert batches == [4, 1, 1, 1, 1]
    assert len(result.images) == 4 and result.grid is not None
    assert max(distance(a, b) for a, b in zip(expected.images, result.images, strict=True)) < 2 / 255


def test_oom_even_one_at_a_time_is_a_clear_error(make_engine: Callable[..., Engine], monkeypatch) -> None:
    """When even one image does not fit, the job fails with a user-facing EngineError (code oom) naming the size."""
    engine = make_engine()
    _oom_when_batched(engine, monkeypatch, limit=0)
    with pytest.raises(EngineError, match=r"out of GPU memory at 64x64") as info:
        engine.run(make_spec())
    assert info.value.code is ErrorCode.OOM


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("MPS backend out of memory (MPS allocated: 9.00 GB)"),
    ],
)
def test_oom_outside_the_fallback_is_an_engine_error(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, error: RuntimeError
) -> None:
    """Out of memory where no fallback exists (prompt encoding), CUDA's or MPS's, leaves as EngineError code oom."""

    def encode(*args, **kwargs):
        raise error

    monkeypatch.setattr(engine.adapter, "encode", encode)
    with pytest.raises(EngineError) as info:
        engine.run(make_spec())
    assert (info.value.code, info.value.message) == (ErrorCode.OOM, OUT_OF_MEMORY)


def test_other_runtime_errors_are_not_called_oom(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A RuntimeError that is not about memory leaves the engine unchanged (the worker reports it as internal)."""

    def encode(*args, **kwargs):
        raise RuntimeError("expected scalar type Half but found Float")

    monkeypatch.setattr(engine.adapter, "encode", encode)
    with pytest.raises(RuntimeError, match="scalar type"):
        engine.run(make_spec())


def test_decode_oom_falls_back_too(make_engine: Callable[..., Engine], monkeypatch) -> None:
    """An OOM in the VAE decode of four latents also retries them one at a time."""
    engine = make_engine()
    vae = engine.model.pipe.vae
    decode = vae.decode
    sizes: list[int] = []

    def tight(latents, *args, **kwargs):
        sizes.append(latents.shape[0])
        if latents.shape[0] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return decode(latents, *args, **kwargs)

    monkeypatch.setattr(vae, "decode", tight)
    result = engine.run(make_spec())
    assert sizes == [4, 1, 1, 1, 1]
    assert len({np.asarray(image).tobytes() for image in result.images}) == 4

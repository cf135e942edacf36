"""One diffusers denoising call with the engine's hooks: progress, previews, cancellation, and --stop.

The hooks run in ``callback_on_step_end``, after each scheduler step. --stop N ends denoising after N % of
the steps: the callback swaps the noisy latents for the scheduler's current estimate of the clean image
(DPM-Solver++ keeps it as its latest ``model_outputs`` entry) and sets the pipeline's interrupt flag, so the
remaining steps are skipped and the estimate is decoded — a softer, less finished picture, not a noisy one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from models.preview import Projection
from worker.engine import Cancelled, Progress


@dataclass
class StepHooks:
    """What to do after each step; one instance per pipeline call."""

    stop_percent: int = 100
    progress: Callable[[Progress], None] | None = None
    should_cancel: Callable[[], bool] | None = None
    preview_every: int = 0
    projection: Projection | None = None

    def __call__(self, pipe: Any, index: int, timestep: Any, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
        # 1. Cancellation is cooperative: checked once per step, before any more work.
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled()
        step, total = index + 1, pipe.num_timesteps
        stop_at = stop_step(total, self.stop_percent)

        # 2. --stop: decode the clean-image estimate now and skip the remaining steps.
        if step == stop_at and step < total:
            estimate = denoised_estimate(pipe.scheduler)
            if estimate is not None:
                tensors["latents"] = estimate.to(tensors["latents"].dtype)
            pipe._interrupt = True

        # 3. Progress, with a cheap preview every few steps and at the end.
        if self.progress is not None:
            preview = None
            wanted = self.preview_every and (step % self.preview_every == 0 or step == stop_at)
            if wanted and self.projection is not None:
                latents = denoised_estimate(pipe.scheduler)
                preview = self.projection.to_image(tensors["latents"] if latents is None else latents)
            self.progress(Progress(step=step, total=stop_at, preview=preview))
        return tensors


def stop_step(total: int, stop_percent: int) -> int:
    """The step after which --stop ends denoising (at least one step)."""
    return max(1, min(total, math.ceil(total * stop_percent / 100)))


def denoised_estimate(scheduler: Any) -> torch.Tensor | None:
    """The scheduler's latest predicted clean latents, when it keeps them (DPM-Solver++ does)."""
    if getattr(scheduler.config, "algorithm_type", None) not in ("dpmsolver++", "sde-dpmsolver++"):
        return None
    outputs = getattr(scheduler, "model_outputs", None)
    if not outputs or outputs[-1] is None:
        return None
    return outputs[-1]

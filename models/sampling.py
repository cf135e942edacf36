"""One diffusers denoising call with the engine's hooks: progress, previews, cancellation, and --stop.

The hooks run in ``callback_on_step_end``, after each scheduler step. --stop N ends denoising after N % of
the steps: the callback swaps the noisy latents for the scheduler's current estimate of the clean image
(DPM-Solver++ keeps it as its latest ``model_outputs`` entry; the flow-matching families' Euler scheduler is given
``FlowMatchEulerWithEstimate`` below, which records it) and sets the pipeline's interrupt flag, so the remaining
steps are skipped and the estimate is decoded — a softer, less finished picture, not a noisy one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

# From the defining module: to a type checker, diffusers' top-level names are placeholder classes (see loader.py).
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler

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
    # The pipeline's latents as [B, C, h, w] for the projection (FLUX packs them into tokens); None: as they are.
    spatial: Callable[[torch.Tensor], torch.Tensor] | None = None

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
                latents = tensors["latents"] if latents is None else latents
                preview = self.projection.to_image(latents if self.spatial is None else self.spatial(latents))
            self.progress(Progress(step=step, total=stop_at, preview=preview))
        return tensors


def stop_step(total: int, stop_percent: int) -> int:
    """The step after which --stop ends denoising (at least one step)."""
    return max(1, min(total, math.ceil(total * stop_percent / 100)))


def denoised_estimate(scheduler: Any) -> torch.Tensor | None:
    """The scheduler's latest predicted clean latents, when it keeps them (DPM-Solver++ and the class below do)."""
    if isinstance(scheduler, FlowMatchEulerWithEstimate):
        return scheduler.denoised
    if getattr(scheduler.config, "algorithm_type", None) not in ("dpmsolver++", "sde-dpmsolver++"):
        return None
    outputs = getattr(scheduler, "model_outputs", None)
    if not outputs or outputs[-1] is None:
        return None
    return outputs[-1]


class FlowMatchEulerWithEstimate(FlowMatchEulerDiscreteScheduler):
    """diffusers' flow-matching Euler scheduler (same config, same sigmas, same samples) that also keeps the clean
    estimate of its latest step, ``x0 = x_t - sigma_t · v``, for --stop and the previews.

    Flow matching interpolates ``x_t = (1 - sigma) · x0 + sigma · noise`` and the model predicts ``v = noise - x0``;
    every pipeline hands ``step`` that velocity (Z-Image negates its model output first), so the estimate holds
    for SD3, FLUX.1, FLUX.2 klein and Z-Image alike.
    """

    denoised: torch.Tensor | None = None

    def step(
        self, model_output: torch.FloatTensor, timestep: Any, sample: torch.FloatTensor, *args: Any, **kwargs: Any
    ) -> Any:
        result = super().step(model_output, timestep, sample, *args, **kwargs)
        # Per-token timesteps and stochastic sampling (unused by these pipelines) have no single sigma.
        if kwargs.get("per_token_timesteps") is None and not self.config.get("stochastic_sampling", False):
            sigma = self.sigmas[self.step_index - 1].to(sample.device)  # step() has moved the index on
            self.denoised = sample.float() - sigma * model_output.float()
        else:
            self.denoised = None
        return result

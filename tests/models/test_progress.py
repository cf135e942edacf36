"""Progress reports with cheap latent previews, and cooperative cancellation between steps."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from PIL import Image

from models.engine import Cancelled, Engine, Progress
from models.preview import SD1_FACTORS, fit_projection, projection_for
from tests.models.conftest import STEPS, make_spec


def test_progress_reports_every_step_with_previews_every_n(make_engine: Callable[..., Engine]) -> None:
    """Each of the spec's steps is reported as (step, total); a preview every preview_every steps and at the end."""
    engine = make_engine(preview_every=3)
    reports: list[Progress] = []
    engine.run(make_spec(steps=7), progress=reports.append)
    assert [(r.step, r.total) for r in reports] == [(s, 7) for s in range(1, 8)]
    assert [r.step for r in reports if r.preview is not None] == [3, 6, 7]
    preview = reports[-1].preview
    assert isinstance(preview, Image.Image) and max(preview.size) >= 256


def test_previews_can_be_turned_off(make_engine: Callable[..., Engine]) -> None:
    """preview_every=0 reports progress without previews."""
    reports: list[Progress] = []
    make_engine(preview_every=0).run(make_spec(), progress=reports.append)
    assert len(reports) == STEPS and all(r.preview is None for r in reports)


def test_fitted_projection_approximates_the_decoder(engine: Engine) -> None:
    """The fitted latent→RGB projection correlates with what the VAE really decodes from the same latents."""
    vae = engine.model.pipe.vae
    projection = fit_projection(vae)
    latents = torch.nn.functional.interpolate(
        torch.randn(2, 4, 3, 3, generator=torch.Generator().manual_seed(7)), (8, 8)
    )
    with torch.no_grad():
        decoded = vae.decode(latents / vae.config.scaling_factor).sample.clamp(-1, 1)
    truth = torch.nn.functional.adaptive_avg_pool2d(decoded, (8, 8))
    guess = torch.einsum("bchw,cr->brhw", latents, projection.weight) + projection.bias.view(1, 3, 1, 1)
    correlation = torch.corrcoef(torch.stack([truth.flatten(), guess.flatten()]))[0, 1]
    assert correlation > 0.5


def test_known_families_use_published_factors(engine: Engine) -> None:
    """SD1 latents use the published SD1 factors rather than a fit."""
    assert torch.equal(projection_for("sd1", engine.model.pipe.vae).weight, torch.tensor(SD1_FACTORS))


def test_cancel_stops_between_steps(engine: Engine) -> None:
    """should_cancel returning True raises Cancelled after the current step; no more steps run."""
    reports: list[Progress] = []
    with pytest.raises(Cancelled):
        engine.run(make_spec(), progress=reports.append, should_cancel=lambda: len(reports) >= 2)
    assert [r.step for r in reports] == [1, 2]
    # The engine is usable again afterwards.
    assert len(engine.run(make_spec()).images) == 4


def test_cancel_before_start(engine: Engine) -> None:
    """A job cancelled before it starts raises Cancelled without denoising."""
    reports: list[Progress] = []
    with pytest.raises(Cancelled):
        engine.run(make_spec(), progress=reports.append, should_cancel=lambda: True)
    assert reports == []

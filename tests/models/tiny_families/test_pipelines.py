"""Every tiny family saves as a diffusers folder that loads back and generates: txt2img, img2img and inpaint."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline

from tests.models.tiny_families.conftest import (
    CASES,
    HEIGHT,
    WIDTH,
    FamilyCase,
    centre_mask,
    distance,
    generate,
    gradient_image,
    pixels,
)

Loader = Callable[[str], DiffusionPipeline]
by_case = pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])


@by_case
def test_folder_loads_as_the_family_pipeline(case: FamilyCase, loaded: Loader) -> None:
    """The saved folder loads through DiffusionPipeline.from_pretrained as the family's own pipeline class."""
    assert type(loaded(case.id)) is case.pipeline


@by_case
def test_txt2img_returns_the_asked_size(case: FamilyCase, loaded: Loader) -> None:
    """Text-to-image at 80×48 returns one 80×48 RGB image that is not flat."""
    image = generate(loaded(case.id))
    assert (image.size, image.mode) == ((WIDTH, HEIGHT), "RGB")
    assert pixels(image).std() > 0.01


@by_case
def test_same_seed_same_pixels_other_seed_other_pixels(case: FamilyCase, loaded: Loader) -> None:
    """The same seed gives identical pixels; another seed gives different ones."""
    pipe = loaded(case.id)
    first, again, other = generate(pipe, seed=1), generate(pipe, seed=1), generate(pipe, seed=2)
    assert np.array_equal(pixels(first), pixels(again))
    assert distance(first, other) > 0.01


@by_case
def test_the_prompt_conditions_the_image(case: FamilyCase, loaded: Loader) -> None:
    """Two prompts with the same seed give different pixels: the text encoders reach the denoiser."""
    pipe = loaded(case.id)
    assert distance(generate(pipe, prompt="a red fox"), generate(pipe, prompt="a blue whale at dusk")) > 1e-4


@by_case
def test_img2img_from_pipe_shares_weights_and_runs(case: FamilyCase, loaded: Loader) -> None:
    """The family's image-to-image pipeline, made with from_pipe, reuses the modules and returns the asked size."""
    pipe = loaded(case.id)
    img2img = case.to_img2img(pipe)
    assert type(img2img) is case.img2img
    assert img2img.transformer is pipe.transformer and img2img.vae is pipe.vae
    image = generate(img2img, image=gradient_image(case.reference_size), **case.img2img_kwargs)
    assert image.size == (WIDTH, HEIGHT)


@by_case
def test_inpaint_from_pipe_runs_with_a_mask(case: FamilyCase, loaded: Loader) -> None:
    """The family's inpaint pipeline, made with from_pipe, repaints a masked centre and keeps the image size."""
    pipe = loaded(case.id)
    inpaint = case.to_inpaint(pipe)
    assert type(inpaint) is case.inpaint
    assert inpaint.transformer is pipe.transformer
    image = generate(inpaint, image=gradient_image(), mask_image=centre_mask(), strength=1.0)
    assert image.size == (WIDTH, HEIGHT)


@by_case
def test_weights_are_the_same_on_every_build(case: FamilyCase, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Two builds save bit-identical weights: the seed is fixed, so the tiny model is the same everywhere."""
    first = DiffusionPipeline.from_pretrained(case.save(tmp_path_factory.mktemp("a") / case.id))
    second = DiffusionPipeline.from_pretrained(case.save(tmp_path_factory.mktemp("b") / case.id))
    for name in ("transformer", "vae", "text_encoder"):
        ours, theirs = getattr(first, name).state_dict(), getattr(second, name).state_dict()
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[key], theirs[key]) for key in ours)

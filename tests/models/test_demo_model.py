"""The shipped demo model and its scene world: it loads the standard way, draws the asked sizes and attributes."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline
from transformers import CLIPTokenizer

from models.demo.scenes import HELD_OUT_PAIRS, TIME_WORDS, make_example, parse_caption, render, sample_scene

MODEL = Path(__file__).resolve().parents[2] / "models" / "demo_model"


@pytest.fixture(scope="module")
def pipe() -> StableDiffusionPipeline:
    torch.set_num_threads(2)
    pipe = StableDiffusionPipeline.from_pretrained(MODEL, safety_checker=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _generate(pipe: StableDiffusionPipeline, prompt: str, width: int, height: int, steps: int = 10) -> np.ndarray:
    generators = [torch.Generator().manual_seed(i) for i in range(2)]
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = pipe([prompt] * 2, width=width, height=height, num_inference_steps=steps, guidance_scale=6.0,
                   generator=generators, output_type="np")  # fmt: skip
    return out.images


def test_loads_through_standard_diffusers_path(pipe: StableDiffusionPipeline) -> None:
    """The folder is a diffusers StableDiffusionPipeline with a CLIP tokenizer and a DPM-Solver++ scheduler."""
    assert isinstance(pipe.tokenizer, CLIPTokenizer)
    assert isinstance(pipe.scheduler, DPMSolverMultistepScheduler)
    assert pipe.safety_checker is None
    assert (MODEL / "model_index.json").is_file()


def test_weights_are_small_safetensors() -> None:
    """The shipped folder stays under 30 MB and holds safetensors, never pickles."""
    files = [p for p in MODEL.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 30 * 2**20
    assert not [p for p in files if p.suffix in {".bin", ".pt", ".ckpt"}]
    assert len([p for p in files if p.suffix == ".safetensors"]) == 3


def test_grammar_words_are_single_tokens(pipe: StableDiffusionPipeline) -> None:
    """Every word of the scene grammar is one token, so the text encoder sees words, not fragments."""
    for word in ("red", "purple", "mountains", "sunset", "snowy", "lake", "trees", "stars"):
        assert len(pipe.tokenizer.tokenize(word)) == 1


@pytest.mark.parametrize(("width", "height"), [(128, 128), (160, 96)])
def test_generates_requested_size(pipe: StableDiffusionPipeline, width: int, height: int) -> None:
    """Square and 16:9-bucket requests come out at exactly the asked pixel size."""
    images = _generate(pipe, "a red sun over purple mountains at dusk", width, height, steps=4)
    assert images.shape == (2, height, width, 3)


def test_night_sky_is_darker_than_noon(pipe: StableDiffusionPipeline) -> None:
    """The model follows the time of day: the upper sky at night is far darker than at noon."""
    night = _generate(pipe, "a moon over blue mountains at night", 128, 128)
    noon = _generate(pipe, "the sun over blue mountains at noon", 128, 128)
    assert night[:, :30].mean() + 0.25 < noon[:, :30].mean()


def test_mountains_take_the_asked_colour(pipe: StableDiffusionPipeline) -> None:
    """Red mountains come out redder than green ones in the mountain band."""
    red = _generate(pipe, "red mountains at noon", 128, 128)[:, 62:74]
    green = _generate(pipe, "green mountains at noon", 128, 128)[:, 62:74]
    assert red[..., 0].mean() - red[..., 1].mean() > green[..., 0].mean() - green[..., 1].mean() + 0.2


def test_captions_state_the_ground_truth() -> None:
    """Parsing a scene's caption gives back exactly its attributes (a sun's colour may go unstated)."""
    for seed in range(300):
        _, text, scene = make_example(seed, 32, 32, held_out=seed % 5 == 0)
        parsed = parse_caption(text)
        assert parsed.pop("sun_colour") in {None, scene.sun_colour}, text
        assert parsed == {k: v for k, v in vars(scene).items() if k != "sun_colour"}, text
        assert any(w in text.split() for w in TIME_WORDS[scene.time])


def test_training_scenes_never_hold_a_held_out_pair() -> None:
    """Training draws exclude every held-out pair, and held-out draws always contain one."""
    rng = random.Random(0)
    for _ in range(500):
        tags = sample_scene(rng).tags()
        assert not any(a in tags and b in tags for a, b in HELD_OUT_PAIRS)
        assert sample_scene(rng, held_out=True).is_held_out()


def test_renders_natively_at_any_size_and_deterministically() -> None:
    """A scene renders at the asked width × height, and the same seed gives the same pixels."""
    scene = sample_scene(random.Random(3))
    wide = render(scene, 256, 64, seed=7)
    assert wide.shape == (64, 256, 3) and wide.dtype == np.uint8
    assert np.array_equal(wide, render(scene, 256, 64, seed=7))

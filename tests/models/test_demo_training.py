"""The demo model's training phases resume from their checkpoints and run on when given a larger budget."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import torch

from models.demo import train_vae
from models.demo.scenes import make_example


def _args(**budget: float) -> argparse.Namespace:
    """A tiny budget: two-image batches of 32 px crops, so a step takes a fraction of a second."""
    defaults = dict(seed=0, vae_steps=2, vae_minutes=5.0, vae_batch=2, vae_crop=32, vae_lr=1e-3,
                    decoder_steps=1, decoder_minutes=5.0, decoder_batch=1, decoder_lr=2e-4)  # fmt: skip
    return argparse.Namespace(**{**defaults, **budget})


def _step(path: Path) -> int:
    return torch.load(path, weights_only=False)["step"]


def test_vae_phase_resumes_and_runs_on_with_a_larger_budget(tmp_path: Path) -> None:
    """A finished phase returns its weights untouched; asked for more steps it continues from its checkpoint."""
    vae = train_vae.train_vae(_args(vae_steps=2), tmp_path)
    assert _step(tmp_path / "vae.pt") == 2
    before = {k: v.clone() for k, v in vae.state_dict().items()}

    again = train_vae.train_vae(_args(vae_steps=2), tmp_path)  # done: loads, trains nothing
    assert all(torch.equal(before[k], v) for k, v in again.state_dict().items())

    train_vae.train_vae(_args(vae_steps=3), tmp_path)
    assert _step(tmp_path / "vae.pt") == 3


def test_decoder_phase_changes_only_the_decoder(tmp_path: Path) -> None:
    """Phase 4 keeps the encoder, so latents the UNet learned from stay valid."""
    vae = train_vae.train_vae(_args(), tmp_path)
    encoder = {k: v.clone() for k, v in vae.encoder.state_dict().items()}
    decoder = {k: v.clone() for k, v in vae.decoder.state_dict().items()}
    train_vae.finetune_decoder(_args(decoder_steps=1), tmp_path, vae)
    assert _step(tmp_path / "decoder.pt") == 1
    assert all(torch.equal(encoder[k], v) for k, v in vae.encoder.state_dict().items())
    assert any(not torch.equal(decoder[k], v) for k, v in vae.decoder.state_dict().items())


def test_colour_jitter_keeps_the_picture_and_changes_its_colours() -> None:
    """A jittered scene has the same shapes (edges where the original has them) in other colours."""
    image = make_example(7, 128, 128)[0]
    jittered = train_vae.jitter_colours(image, random.Random(3))
    assert jittered.shape == image.shape and jittered.dtype == np.uint8
    assert not np.array_equal(jittered, image)
    # Neighbours equal in the original are equal in the jittered one: the same picture, repainted.
    same = np.all(image[:, 1:] == image[:, :-1], axis=2)
    assert same.mean() > 0.5
    assert np.all(jittered[:, 1:][same] == jittered[:, :-1][same])

"""The demo model's autoencoder phases: phase 1 trains the VAE, phase 4 sharpens its decoder.

Both see colour-jittered scenes half the time. The scene world has a small palette, and a VAE trained on it alone
learns that palette rather than colour: it drew red mountains at night (a combination training never shows) as
green ones, and lost 2.6 dB on held-out scenes. An autoencoder should reproduce any colour, so it is taught to.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# From the defining module, not top-level `diffusers` (whose names mypy sees as placeholders): see models/loader.py.
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL

from models.demo import architecture as arch
from models.demo.scenes import make_example

log = logging.getLogger(__name__)

JITTER_SHARE = 0.5
GAIN_RANGE = (0.3, 1.2)  # per-channel multipliers: spans night's dim blue light and noon's full light


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """HWC uint8 images → an NCHW float batch in [-1, 1]."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def lr_at(step: int, progress: float, peak: float, warmup: int = 100) -> float:
    """Linear warmup, then cosine down to a tenth of the peak as ``progress`` (steps or time, 0..1) runs out."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, progress)
    return peak * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def budget_used(step: int, steps: int, spent_s: float, minutes: float) -> float:
    """How much of a phase's budget is used (0..1+): steps or time, whichever runs out first.

    The learning-rate schedule follows it too, so a time-capped run still anneals.
    """
    return max(step / steps, spent_s / (minutes * 60))


def jitter_colours(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """The same picture in other colours: shuffled RGB channels, each scaled by its own gain."""
    order = rng.sample(range(3), 3)
    gains = np.array([rng.uniform(*GAIN_RANGE) for _ in range(3)], dtype=np.float32)
    return np.clip(image[..., order].astype(np.float32) * gains, 0, 255).round().astype(np.uint8)


def scene_image(rng: random.Random, width: int, height: int) -> np.ndarray:
    """One training scene, colour-jittered with probability ``JITTER_SHARE``."""
    image = make_example(rng.randrange(2**31), width, height)[0]
    return jitter_colours(image, rng) if rng.random() < JITTER_SHARE else image


def vae_batch(rng: random.Random, batch: int, crop: int) -> torch.Tensor:
    """Random crops of random-bucket training scenes, in [-1, 1]."""
    crops = []
    for _ in range(batch):
        w, h = arch.random_bucket(rng)
        img = scene_image(rng, w, h)
        x, y = rng.randrange(w - min(crop, w) + 1), rng.randrange(h - min(crop, h) + 1)
        crops.append(img[y : y + crop, x : x + crop])
    return to_tensor(crops)


def _resume(
    ckpt: Path, vae: torch.nn.Module, opt: torch.optim.Optimizer, steps: int, minutes: float
) -> tuple[int, float, bool]:
    """Load a phase's checkpoint: (step, seconds spent, done).

    A phase is done once it used up the budget it is asked for now, so a finished phase runs on when called
    again with a larger ``--*-steps`` or ``--*-minutes`` (for example a longer decoder fine-tune afterwards).
    """
    if not ckpt.exists():
        return 0, 0.0, False
    state = torch.load(ckpt, weights_only=False)
    vae.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    step, spent = state["step"], state["spent"]
    return step, spent, budget_used(step, steps, spent, minutes) >= 1


def _save(ckpt: Path, vae: torch.nn.Module, opt: torch.optim.Optimizer, step: int, spent: float) -> None:
    torch.save({"model": vae.state_dict(), "opt": opt.state_dict(), "step": step, "spent": spent}, ckpt)


def train_vae(args: argparse.Namespace, work: Path) -> AutoencoderKL:
    """Phase 1: the autoencoder, with reconstruction (L1 + MSE) and a tiny KL term keeping latents well scaled."""
    vae = arch.make_vae()
    opt = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
    ckpt = work / "vae.pt"
    step, spent, done = _resume(ckpt, vae, opt, args.vae_steps, args.vae_minutes)
    if done:
        log.info("vae: finished earlier at step %s", step)
        return vae
    rng = random.Random(args.seed * 1000 + step)
    start = time.monotonic() - spent
    while (used := budget_used(step, args.vae_steps, time.monotonic() - start, args.vae_minutes)) < 1:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, used, args.vae_lr)
        x = vae_batch(rng, args.vae_batch, args.vae_crop)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            posterior = vae.encode(x).latent_dist
            recon = vae.decode(posterior.sample()).sample.float()
        mse = F.mse_loss(recon, x)
        loss = mse + F.l1_loss(recon, x) + 1e-6 * posterior.kl().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 25 == 0:
            psnr = 10 * math.log10(4.0 / max(mse.item(), 1e-10))
            elapsed = time.monotonic() - start
            log.info("vae step %s/%s loss %.4f psnr %.1f dB %.2f s/step", step, args.vae_steps, loss.item(), psnr,
                     elapsed / step)  # fmt: skip
        if step % 200 == 0:
            _save(ckpt, vae, opt, step, time.monotonic() - start)
    _save(ckpt, vae, opt, step, time.monotonic() - start)
    log.info("vae: done at step %s after %.1f min", step, (time.monotonic() - start) / 60)
    return vae


def finetune_decoder(args: argparse.Namespace, work: Path, vae: AutoencoderKL) -> None:
    """Phase 4: sharpen the decoder on whole frames with the encoder frozen, so the UNet's latents stay valid.

    Only the decoder changes, so this phase depends on phase 1 alone and may run beside phase 3.
    """
    params = [*vae.decoder.parameters()]
    if vae.post_quant_conv is not None:  # None only in configs with use_post_quant_conv=False
        params += vae.post_quant_conv.parameters()
    opt = torch.optim.AdamW(params, lr=args.decoder_lr, weight_decay=0.0)
    ckpt = work / "decoder.pt"
    step, spent, done = _resume(ckpt, vae, opt, args.decoder_steps, args.decoder_minutes)
    if done:
        log.info("decoder: finished earlier at step %s", step)
        return
    rng = random.Random(args.seed * 1000 + 4242 + step)
    start = time.monotonic() - spent
    while (used := budget_used(step, args.decoder_steps, time.monotonic() - start, args.decoder_minutes)) < 1:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, used, args.decoder_lr, warmup=20)
        w, h = arch.random_bucket(rng)
        x = to_tensor([scene_image(rng, w, h) for _ in range(args.decoder_batch)])
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            z = vae.encode(x).latent_dist.mean
        with torch.autocast("cpu", dtype=torch.bfloat16):
            recon = vae.decode(z).sample.float()
        mse = F.mse_loss(recon, x)
        loss = mse + F.l1_loss(recon, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        if step % 25 == 0:
            log.info("decoder step %s/%s psnr %.1f dB", step, args.decoder_steps, 10 * math.log10(4 / mse.item()))
        if step % 100 == 0:
            _save(ckpt, vae, opt, step, time.monotonic() - start)
    _save(ckpt, vae, opt, step, time.monotonic() - start)
    log.info("decoder: done at step %s", step)

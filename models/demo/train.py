"""Train the bundled demo model on CPU: ``python -m models.demo.train --out models/demo_model``.

Four phases, each checkpointed under ``--work`` so a killed run resumes where it stopped: (1) the VAE on crops
(it is convolutional, so small crops teach it as well as whole frames, at a fraction of the cost), (2) latents of
captioned scenes precomputed once per aspect bucket, (3) the UNet and text encoder together, with the caption
dropped 10 % of the time so classifier-free guidance works, (4) the decoder alone on whole frames. Phases 1 and 4
live in ``train_vae``. Each phase stops at its step count or its time budget, whichever comes first, so the
whole run takes about 110 minutes on two cores (a GPU reaches the step counts long before the budgets).
"""

from __future__ import annotations

import argparse
import copy
import logging
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# From the defining modules, not top-level `diffusers` (whose names mypy sees as placeholders): see models/loader.py.
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline
from PIL import Image

from models.demo import architecture as arch
from models.demo.scenes import make_example
from models.demo.train_vae import budget_used, finetune_decoder, lr_at, to_tensor, train_vae

log = logging.getLogger(__name__)

SAMPLE_PROMPTS = (
    "a red sun over purple mountains at dusk",
    "a moon over snowy blue mountains at night under stars",
    "the sun over green mountains at noon by the sea",
    "grey mountains at dawn by a lake with trees",
)


def _grid(images: list[Image.Image], cols: int = 4) -> Image.Image:
    w, h = images[0].size
    grid = Image.new("RGB", (w * cols, h * math.ceil(len(images) / cols)))
    for i, im in enumerate(images):
        grid.paste(im, ((i % cols) * w, (i // cols) * h))
    return grid


@torch.no_grad()
def encode_latents(args: argparse.Namespace, work: Path, vae: AutoencoderKL, tokenizer) -> dict:
    """Phase 2: latents and token ids of ``--examples`` training scenes, grouped by bucket, plus the latent scale."""
    path = work / "latents.pt"
    if path.exists():
        return torch.load(path, weights_only=False)
    vae.eval()
    rng = random.Random(args.seed + 7)
    by_bucket: dict[tuple[int, int], list[tuple[np.ndarray, str]]] = {b: [] for b in arch.BUCKETS}
    for i in range(args.examples):
        w, h = arch.random_bucket(rng)
        img, text, _ = make_example(10_000_000 + i, w, h)
        by_bucket[(w, h)].append((img, text))
    data: dict = {"buckets": {}}
    for bucket, items in by_bucket.items():
        latents = []
        for i in range(0, len(items), 64):
            x = to_tensor([img for img, _ in items[i : i + 64]])
            with torch.autocast("cpu", dtype=torch.bfloat16):
                latents.append(vae.encode(x).latent_dist.mean.float())
        ids = tokenizer([t for _, t in items], padding="max_length", max_length=arch.MAX_TOKENS,
                        truncation=True, return_tensors="pt").input_ids  # fmt: skip
        data["buckets"][bucket] = (torch.cat(latents), ids)
        log.info("latents: bucket %sx%s holds %s scenes", *bucket, len(items))
    square = data["buckets"][arch.BUCKETS[0]][0]
    data["scale"] = 1.0 / square.std().item()
    torch.save(data, path)
    return data


def sample_grid(pipe: StableDiffusionPipeline, path: Path, width: int = 128, height: int = 128) -> None:
    """Draw the sample prompts (two seeds each) and save them as one grid for a person to look at."""
    images = []
    for seed in (0, 1):
        generator = torch.Generator().manual_seed(seed)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = pipe(list(SAMPLE_PROMPTS), width=width, height=height, num_inference_steps=20, guidance_scale=5.0,
                       generator=generator)  # fmt: skip
        images += out.images
    _grid(images).save(path)


def train_unet(
    args: argparse.Namespace, work: Path, data: dict, vae: AutoencoderKL, tokenizer
) -> StableDiffusionPipeline:
    """Phase 3: UNet and text encoder from scratch on precomputed latents; returns the EMA weights as a pipeline."""
    torch.manual_seed(args.seed)
    unet, text_encoder = arch.make_unet(), arch.make_text_encoder(tokenizer)
    params: list[torch.Tensor] = [*unet.parameters(), *text_encoder.parameters()]
    opt = torch.optim.AdamW(params, lr=args.unet_lr, weight_decay=0.01)
    ema_unet, ema_text = copy.deepcopy(unet), copy.deepcopy(text_encoder)
    ckpt, step, spent = work / "unet.pt", 0, 0.0
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        for module, key in ((unet, "unet"), (text_encoder, "text"), (ema_unet, "ema_unet"), (ema_text, "ema_text")):
            module.load_state_dict(state[key])
        opt.load_state_dict(state["opt"])
        step, spent = state["step"], state["spent"]
        log.info("unet: resuming at step %s", step)
    ema_params: list[torch.Tensor] = [*ema_unet.parameters(), *ema_text.parameters()]
    noise_schedule = arch.make_train_scheduler()
    empty = tokenizer([""], padding="max_length", max_length=arch.MAX_TOKENS, return_tensors="pt").input_ids
    buckets = list(data["buckets"].values())
    weights = [len(ids) for _, ids in buckets]
    rng = random.Random(args.seed * 1000 + step)
    pipe = arch.make_pipeline(vae, ema_text, tokenizer, ema_unet)
    pipe.set_progress_bar_config(disable=True)
    start = time.monotonic() - spent
    while (used := budget_used(step, args.unet_steps, time.monotonic() - start, args.unet_minutes)) < 1:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, used, args.unet_lr)
        latents, ids = rng.choices(buckets, weights)[0]
        pick = torch.tensor(rng.sample(range(len(ids)), args.unet_batch))
        x0, tokens = latents[pick] * data["scale"], ids[pick].clone()
        tokens[torch.rand(len(tokens)) < 0.1] = empty[0]  # caption dropout: the unconditional branch of CFG
        noise = torch.randn_like(x0)
        t = torch.randint(0, 1000, (len(x0),))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            states = text_encoder(tokens).last_hidden_state
            noisy = noise_schedule.add_noise(x0, noise, t)  # type: ignore[arg-type]  # annotated torch.IntTensor
            pred = unet(noisy, t, states).sample.float()
        loss = F.mse_loss(pred, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        with torch.no_grad():  # EMA ramps up so early samples are not dominated by the random init
            torch._foreach_lerp_(ema_params, params, 1 - min(args.ema, (1 + step) / (10 + step)))
        if step % 25 == 0:
            elapsed = time.monotonic() - start
            log.info("unet step %s/%s loss %.4f %.2f s/step elapsed %.1f min", step, args.unet_steps, loss.item(),
                     elapsed / step, elapsed / 60)  # fmt: skip
        if step % args.save_every == 0:
            torch.save({"unet": unet.state_dict(), "text": text_encoder.state_dict(), "opt": opt.state_dict(),
                        "ema_unet": ema_unet.state_dict(), "ema_text": ema_text.state_dict(), "step": step,
                        "spent": time.monotonic() - start}, ckpt)  # fmt: skip
            sample_grid(pipe, work / "samples" / f"unet_{step:05d}.png")
            log.info("unet: checkpoint and samples at step %s", step)
    torch.save({"unet": unet.state_dict(), "text": text_encoder.state_dict(), "opt": opt.state_dict(),
                "ema_unet": ema_unet.state_dict(), "ema_text": ema_text.state_dict(), "step": step,
                "spent": time.monotonic() - start}, ckpt)  # fmt: skip
    log.info("unet: stopped at step %s after %.1f min", step, (time.monotonic() - start) / 60)
    return pipe


def export_checkpoint(work: Path, out: Path, tokenizer) -> None:
    """Save a pipeline from the latest checkpoints (EMA weights) without training: for a run stopped early."""
    vae = arch.make_vae()
    vae_ckpt = work / "decoder.pt" if (work / "decoder.pt").exists() else work / "vae.pt"
    vae.load_state_dict(torch.load(vae_ckpt, weights_only=False)["model"])
    vae.register_to_config(scaling_factor=torch.load(work / "latents.pt", weights_only=False)["scale"])
    state = torch.load(work / "unet.pt", weights_only=False)
    unet, text_encoder = arch.make_unet(), arch.make_text_encoder(tokenizer)
    unet.load_state_dict(state["ema_unet"])
    text_encoder.load_state_dict(state["ema_text"])
    pipe = arch.make_pipeline(vae, text_encoder, tokenizer, unet)
    pipe.save_pretrained(out, safe_serialization=True)
    log.info("exported %s from unet step %s and %s", out, state["step"], vae_ckpt.name)


def main(argv: list[str] | None = None) -> int:
    """Run (or resume) the full recipe and save a diffusers-format pipeline to ``--out``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("models/demo_model"))
    p.add_argument("--work", type=Path, default=Path("runs/demo"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vae-steps", type=int, default=5000)
    p.add_argument("--vae-minutes", type=float, default=25.0)
    p.add_argument("--vae-batch", type=int, default=16)
    p.add_argument("--vae-crop", type=int, default=64)
    p.add_argument("--vae-lr", type=float, default=1e-3)
    p.add_argument("--examples", type=int, default=12000)
    p.add_argument("--unet-steps", type=int, default=3000)
    p.add_argument("--unet-minutes", type=float, default=45.0)
    p.add_argument("--unet-batch", type=int, default=32)
    p.add_argument("--unet-lr", type=float, default=5e-4)
    p.add_argument("--ema", type=float, default=0.998)
    p.add_argument("--save-every", type=int, default=250)
    p.add_argument("--decoder-steps", type=int, default=4500)
    p.add_argument("--decoder-minutes", type=float, default=37.0)
    p.add_argument("--decoder-batch", type=int, default=8)
    p.add_argument("--decoder-lr", type=float, default=2e-4)
    p.add_argument("--only-decoder", action="store_true", help="run phase 4 alone (beside phase 3), then stop")
    p.add_argument("--export", action="store_true", help="only save --out from the latest checkpoints")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    torch.set_num_threads(2)  # the machine has two cores; more threads only contend
    torch.manual_seed(args.seed)
    (args.work / "samples").mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    tokenizer = arch.write_tokenizer(args.work / "tokenizer", arch.caption_words())
    if args.export:
        export_checkpoint(args.work, args.out, tokenizer)
        return 0
    vae = train_vae(args, args.work)
    if args.only_decoder:
        finetune_decoder(args, args.work, vae)
        return 0
    data = encode_latents(args, args.work, vae, tokenizer)
    vae.register_to_config(scaling_factor=data["scale"])
    pipe = train_unet(args, args.work, data, vae, tokenizer)
    finetune_decoder(args, args.work, vae)
    pipe.save_pretrained(args.out, safe_serialization=True)
    sample_grid(pipe, args.work / "samples" / "final.png")
    log.info("saved %s after %.1f min in this process", args.out, (time.monotonic() - began) / 60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

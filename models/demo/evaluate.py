"""Score the demo model without a human: ``python -m models.demo.evaluate --model models/demo_model``.

1. Fit the pixel detectors on the generator's renders and validate them on other renders and on their VAE
   reconstructions (a detector that cannot read the ground truth must not judge the model).
2. Generate four images for each prompt of a fixed set, half of them attribute combinations seen in training and
   half held-out combinations (``scenes.HELD_OUT_PAIRS``), and score every attribute the prompt states.
3. VAE reconstruction PSNR on held-out scenes, and the latency of one 2 × 2 grid.
Sampling uses diffusers' ``StableDiffusionPipeline`` directly, so the score does not depend on the engine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import numpy as np
import torch

# From the defining modules, not top-level `diffusers` (whose names mypy sees as placeholders): see models/loader.py.
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline
from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler
from PIL import Image

from models.demo.detectors import LABELS, Detectors, calibration_set, judge
from models.demo.scenes import Scene, caption, make_example, sample_scene

SIZES = ((128, 128), (160, 96), (96, 160))
# The docs' sample grid: one row per prompt, four seeds each.
SHOWCASE = (
    "a red sun over purple mountains at dusk",
    "a moon over snowy blue mountains at night under stars",
    "a yellow sun over green mountains at noon by the sea with clouds",
    "grey mountains at sunrise by a lake with trees",
)
STEPS, GUIDANCE = 20, 6.0


def load(model: Path) -> StableDiffusionPipeline:
    """The shipped pipeline through the standard diffusers path, with DPM-Solver++."""
    pipe = StableDiffusionPipeline.from_pretrained(model, safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def prompt_set(n: int, held_out: bool, seed: int) -> list[tuple[str, Scene, tuple[int, int]]]:
    """``n`` fixed prompts with their ground truth and size; held-out ones each hold a pair training never shows."""
    rng = random.Random(seed + int(held_out))
    out = []
    for i in range(n):
        scene = sample_scene(rng, held_out=held_out)
        out.append((caption(scene, rng), scene, SIZES[i % len(SIZES)]))
    return out


def generate(pipe: StableDiffusionPipeline, prompt: str, size: tuple[int, int], seed: int) -> list[np.ndarray]:
    """Four images for ``prompt`` in one batched, guided run (cell i from seed + i, as the engine does)."""
    generators = [torch.Generator().manual_seed(seed + i) for i in range(4)]
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = pipe([prompt] * 4, width=size[0], height=size[1], num_inference_steps=STEPS, guidance_scale=GUIDANCE,
                   generator=generators)  # fmt: skip
    return [np.asarray(im) for im in out.images]


@torch.inference_mode()
def reconstruct(pipe: StableDiffusionPipeline, images: list[np.ndarray]) -> list[np.ndarray]:
    """Encode and decode same-sized images through the VAE (latent mean, no sampling noise)."""
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = pipe.vae.decode(pipe.vae.encode(x).latent_dist.mean).sample.float()
    return list(((y.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy())


def through_vae(pipe: StableDiffusionPipeline, items: list[tuple[np.ndarray, Scene]]) -> list[tuple[np.ndarray, Scene]]:
    """The same scenes as the VAE reconstructs them (grouped by size, since a batch needs one size)."""
    by_size: dict[tuple[int, ...], list[int]] = {}
    for i, (img, _) in enumerate(items):
        by_size.setdefault(img.shape, []).append(i)
    out = list(items)
    for idx in by_size.values():
        for i, im in zip(idx, reconstruct(pipe, [items[i][0] for i in idx]), strict=True):
            out[i] = (im, items[i][1])
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 images, in dB."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def vae_psnr(pipe: StableDiffusionPipeline, n: int = 48) -> float:
    """Mean reconstruction PSNR on held-out scenes (seeds and attribute pairs training never drew)."""
    scores = []
    for w, h in SIZES[:2]:
        images = [make_example(90_000_000 + i, w, h, held_out=True)[0] for i in range(n // 2)]
        scores += [psnr(a, b) for a, b in zip(images, reconstruct(pipe, images), strict=True)]
    return statistics.mean(scores)


def accuracy(detectors: Detectors, items: list[tuple[np.ndarray, Scene]]) -> dict[str, float]:
    """Per-attribute and overall share of correctly read attributes."""
    hits: dict[str, list[bool]] = {}
    for img, scene in items:
        for name, ok in judge(detectors.detect(img), scene).items():
            hits.setdefault(name, []).append(ok)
    table = {name: float(np.mean(v)) for name, v in hits.items()}
    table["all"] = float(np.mean([ok for v in hits.values() for ok in v]))
    return table


def grid_latency(pipe: StableDiffusionPipeline, runs: int = 5) -> float:
    """p50 seconds for one 2 × 2 grid at 128 px (four images, batched, CFG, default steps)."""
    generate(pipe, "a red sun over purple mountains at dusk", (128, 128), 0)  # warm-up: first call allocates
    times = []
    for seed in range(runs):
        start = time.perf_counter()
        generate(pipe, "a moon over snowy blue mountains at night", (128, 128), seed)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Run the whole evaluation and print Markdown tables."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=Path("models/demo_model"))
    p.add_argument("--prompts", type=int, default=24, help="prompts per split (seen, held-out)")
    p.add_argument("--grid", type=Path, help="also save the showcase grid (docs/demo-grid.png) here")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    pipe = load(args.model)

    # 1. Detectors: fitted on renders and on their VAE reconstructions (every model output passes the decoder, so
    #    the detectors must read its softer edges), then validated on fresh renders and reconstructions.
    fit, check = calibration_set(240, seed=1), calibration_set(120, seed=2)
    detectors = Detectors().fit(fit + through_vae(pipe, fit))
    rows = {
        "detector on renders": accuracy(detectors, check),
        "detector on VAE recon": accuracy(detectors, through_vae(pipe, check)),
    }

    # 2. The model, on seen and held-out combinations.
    for split, held_out in (("seen", False), ("held-out", True)):
        items = []
        for i, (prompt, scene, size) in enumerate(prompt_set(args.prompts, held_out, seed=2024)):
            images = generate(pipe, prompt, size, seed=1000 * i)
            items += [(im, scene) for im in images]
        rows[f"model, {split} ({args.prompts} prompts × 4)"] = accuracy(detectors, items)

    # 3. VAE and speed.
    recon_db, latency = vae_psnr(pipe), grid_latency(pipe)
    names = [*LABELS, "all"]
    print("| scored | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for label, table in rows.items():
        print(f"| {label} | " + " | ".join(f"{100 * table[n]:.0f}%" if n in table else "–" for n in names) + " |")
    print(f"\nVAE reconstruction PSNR on held-out scenes: {recon_db:.1f} dB")
    print(f"2×2 grid at 128 px, {STEPS} steps, CFG {GUIDANCE:g}, DPM-Solver++: p50 {latency:.2f} s")
    if args.grid:
        rows_img = [np.concatenate(generate(pipe, prompt, (128, 128), seed=0), axis=1) for prompt in SHOWCASE]
        Image.fromarray(np.concatenate(rows_img, axis=0)).save(args.grid, optimize=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

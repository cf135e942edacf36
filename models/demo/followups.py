"""Score the engine's follow-ups on the demo model: ``python -m models.demo.followups``.

1. Make grids for a few prompts through the engine (the same path a worker takes).
2. Variations: SSIM of each variation against its source cell, subtle vs strong; subtle should stay closer.
3. Upscales: PSNR of the 2× upscale, downscaled back (Lanczos), against its source cell, subtle and creative.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from PIL import Image

from models.engine import Engine
from models.settings import EngineSettings
from worker.spec import (
    JobKind,
    JobSpec,
    Mode,
    PromptFields,
    Requester,
    Strength,
    WeightedPrompt,
    follow_up_spec,
    imagine_spec,
)

PROMPTS = (
    "a red sun over purple mountains at dusk",
    "a moon over snowy blue mountains at night under stars",
    "a yellow sun over green mountains at noon by the sea",
    "grey mountains at sunrise by a lake with trees",
)
_WINDOW = 7
STEPS = 20
REQUESTER = Requester(user_id=1, channel_id=1)


def _box(x: np.ndarray) -> np.ndarray:
    """Mean over every 7 × 7 window (valid positions), by summed-area table."""
    s = np.pad(x, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    w = _WINDOW
    return (s[w:, w:] - s[:-w, w:] - s[w:, :-w] + s[:-w, :-w]) / (w * w)


def ssim(a: Image.Image, b: Image.Image) -> float:
    """Mean structural similarity of two same-size images on luminance (uniform 7 × 7 window)."""
    x = np.asarray(a.convert("L"), dtype=np.float64) / 255
    y = np.asarray(b.convert("L"), dtype=np.float64) / 255
    c1, c2 = 0.01**2, 0.03**2
    mx, my = _box(x), _box(y)
    vx, vy, cov = _box(x * x) - mx * mx, _box(y * y) - my * my, _box(x * y) - mx * my
    score = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(score.mean())


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB of two same-size RGB images."""
    x = np.asarray(a.convert("RGB"), dtype=np.float64)
    y = np.asarray(b.convert("RGB"), dtype=np.float64)
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def _spec(prompt: str, seed: int) -> JobSpec:
    fields = PromptFields(prompts=[WeightedPrompt(text=prompt)], width=128, height=128)
    return imagine_spec(fields, REQUESTER, Mode.FAST, STEPS, model="demo", seed=seed)


def _follow_up(parent: JobSpec, kind: JobKind, strength: Strength, seed: int) -> JobSpec:
    return follow_up_spec(parent, kind, strength, 1, REQUESTER, Mode.FAST, STEPS, seed=seed)


def measure(engine: Engine, seeds: int = 2) -> dict[str, list[float]]:
    """SSIM of subtle/strong variations and PSNR of subtle/creative upscales against their sources."""
    scores: dict[str, list[float]] = {"ssim subtle": [], "ssim strong": [], "psnr subtle": [], "psnr creative": []}
    for prompt in PROMPTS:
        for seed in range(seeds):
            parent = _spec(prompt, seed)
            source = engine.run(parent).images[0]
            for strength in (Strength.SUBTLE, Strength.STRONG):
                spec = _follow_up(parent, JobKind.VARIATION, strength, seed + 100)
                images = engine.run(spec, source=source).images
                scores[f"ssim {strength}"] += [ssim(image.resize(source.size), source) for image in images]
            for strength in (Strength.SUBTLE, Strength.CREATIVE):
                spec = _follow_up(parent, JobKind.UPSCALE, strength, seed)
                big = engine.run(spec, source=source).images[0]
                back = big.resize(source.size, Image.Resampling.LANCZOS)
                scores[f"psnr {strength}"].append(psnr(back, source))
    return scores


def main(argv: list[str] | None = None) -> int:
    """Print the follow-up table for the configured model (the demo model by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="source images per prompt")
    args = parser.parse_args(argv)
    engine = Engine.load(EngineSettings())
    scores = measure(engine, args.seeds)
    print("| measure | mean | min | max | n |\n|---|---|---|---|---|")
    for name, values in scores.items():
        unit = " dB" if name.startswith("psnr") else ""
        mean, low, high = statistics.fmean(values), min(values), max(values)
        print(f"| {name} | {mean:.3f}{unit} | {low:.3f}{unit} | {high:.3f}{unit} | {len(values)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measure what an upscale keeps and what it adds, across img2img strengths: ``python -m bench.upscale``.

1. For each prompt × seed, make a grid through the engine (the worker's path) and take its first ``--cells`` cells.
2. Upscale each cell (Lanczos 2×, then img2img refinement) at every strength of the sweep, by running the engine with
   the family's upscale strengths replaced by the swept one.
3. Per strength, report:

   * start σ: the noise the refinement starts from, as the share of noise in a flow-matching mix
     ``(1 − σ)·image + σ·noise`` (SD's variance-preserving noise converted at equal signal-to-noise ratio), so one
     nominal strength can be compared across samplers and schedule shifts;
   * composition kept: SSIM of the result, downscaled (Lanczos) to the source's size, against the source: mean and
     worst;
   * detail: high-frequency energy (squared Laplacian of luminance) of the result over that of plain Lanczos 2×
     (1.0: nothing added), and PSNR of the result against plain Lanczos 2×;
   * with ``--native``, the same SSIM for refining at the source's own size (a subtle variation's path at that
     strength): composition kept where the model works at its training size, to tell a too-high strength from a
     too-large canvas.

The configured model by default (the bundled demo model: real trained weights); ``--family VARIANT`` builds that
family's tiny random-weight model (models/tiny_families) at a 64 px base instead, whose numbers only show that the
mechanism works (random weights keep or invent nothing meaningful), except start σ, which is the family's real
scheduler's. Run: ``.venv/bin/python -m bench.upscale [--family flux-dev] [--write docs/demo-model.md]``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import statistics
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench import report
from models.demo.followups import PROMPTS, psnr, ssim
from models.engine import Engine
from models.settings import EngineSettings
from models.tiny_families import flux, flux2_klein, sd3, z_image
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

STRENGTHS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.45)
logger = logging.getLogger(__name__)
REQUESTER = Requester(user_id=1, channel_id=1)
TINY_BASE = 64
# One variant per transformer family: the tiny random-weight builds of models/tiny_families.
TINY: dict[str, Callable[[Path], Path]] = {
    "sd3.5-medium": lambda path: sd3.save_sd3(path, "3.5-medium"),
    "flux-dev": lambda path: flux.save_flux(path, "dev"),
    "flux2-klein-base": lambda path: flux2_klein.save_flux2_klein(path, "base"),
    "z-image": z_image.save_z_image,
}


def detail(image: Image.Image) -> float:
    """High-frequency energy: mean squared 4-neighbour Laplacian of luminance in [0, 1]."""
    x = np.asarray(image.convert("L"), dtype=np.float64) / 255
    lap = 4 * x[1:-1, 1:-1] - x[:-2, 1:-1] - x[2:, 1:-1] - x[1:-1, :-2] - x[1:-1, 2:]
    return float(np.mean(lap * lap))


@contextlib.contextmanager
def noising(engine: Engine) -> Iterator[list[float]]:
    """Record the noise share each img2img run starts from, as the pipeline noises the source with the scheduler."""
    scheduler = engine.adapter.img2img.scheduler
    seen: list[float] = []
    if hasattr(scheduler, "scale_noise"):  # flow matching: x = (1 - σ)·image + σ·noise, timestep = 1000 σ
        name, original = "scale_noise", scheduler.scale_noise

        def record(sample: torch.Tensor, timestep: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
            seen.append(float(timestep.flatten()[0]) / scheduler.config.num_train_timesteps)
            return original(sample, timestep, noise)

    else:  # variance preserving: x = √ᾱ·image + √(1 − ᾱ)·noise; the flow mix at equal SNR has σ = b / (a + b)
        name, original = "add_noise", scheduler.add_noise

        def record(sample: torch.Tensor, noise: torch.Tensor, timestep: torch.Tensor) -> torch.Tensor:  # type: ignore[misc]
            alpha = float(scheduler.alphas_cumprod[int(timestep.flatten()[0])])
            seen.append((1 - alpha) ** 0.5 / (alpha**0.5 + (1 - alpha) ** 0.5))
            return original(sample, noise, timestep)

    setattr(scheduler, name, record)
    try:
        yield seen
    finally:
        delattr(scheduler, name)


@contextlib.contextmanager
def upscale_strength(engine: Engine, strength: float) -> Iterator[None]:
    """Run the engine's upscales at ``strength`` (both subtle and creative), as if the family's facts said so."""
    facts = engine.adapter.facts
    swept = {Strength.SUBTLE: strength, Strength.CREATIVE: strength}
    engine.adapter.facts = dataclasses.replace(facts, upscale_strength=swept)
    try:
        yield
    finally:
        engine.adapter.facts = facts


def measure(
    engine: Engine, prompts: int, seeds: int, cells: int, steps: int, strengths: tuple[float, ...], native: bool
) -> dict[float, dict[str, list[float]]]:
    """Per strength: start σ, SSIM kept, detail ratio and PSNR vs Lanczos (and native SSIM) over every source."""
    card = engine.card()
    side = engine.base_resolution
    rows: dict[float, dict[str, list[float]]] = {s: {} for s in strengths}
    for prompt in PROMPTS[:prompts]:
        for seed in range(seeds):
            fields = PromptFields(prompts=[WeightedPrompt(text=prompt)], width=side, height=side)
            guidance = card.guidance
            parent = imagine_spec(fields, REQUESTER, Mode.FAST, steps, model=card.name, seed=seed, guidance=guidance)
            grid = engine.run(parent)
            for cell, source in enumerate(grid.images[:cells]):
                logger.info("source %r seed %s cell %s", prompt, seed, cell)
                lanczos = source.resize((2 * source.width, 2 * source.height), Image.Resampling.LANCZOS)
                for strength in strengths:
                    row = rows[strength]
                    spec = follow_up_spec(parent, JobKind.UPSCALE, Strength.SUBTLE, cell + 1, REQUESTER, Mode.FAST,
                                          steps, seed=seed + cell)  # fmt: skip
                    with upscale_strength(engine, strength), noising(engine) as sigmas:
                        big = engine.run(spec, source=source).images[0]
                    row.setdefault("sigma", []).extend(sigmas)
                    back = big.resize(source.size, Image.Resampling.LANCZOS)
                    row.setdefault("ssim", []).append(ssim(back, source))
                    row.setdefault("detail", []).append(detail(big) / max(detail(lanczos), 1e-12))
                    row.setdefault("psnr", []).append(psnr(big, lanczos))
                    if native:
                        row.setdefault("native", []).append(_native_ssim(engine, parent, source, seed, strength))
    return rows


def _native_ssim(engine: Engine, parent: JobSpec, source: Image.Image, seed: int, strength: float) -> float:
    """SSIM of one refinement at the source's own size (a subtle variation's path, run at ``strength``)."""
    import models.engine as engine_module

    spec = follow_up_spec(parent, JobKind.VARIATION, Strength.SUBTLE, 1, REQUESTER, Mode.FAST, parent.steps, seed=seed)
    saved = engine_module.VARIATION_STRENGTH[Strength.SUBTLE]
    engine_module.VARIATION_STRENGTH[Strength.SUBTLE] = strength
    try:
        images = engine.run(spec, source=source).images
    finally:
        engine_module.VARIATION_STRENGTH[Strength.SUBTLE] = saved
    return statistics.fmean(ssim(image, source) for image in images)


def table(rows: dict[float, dict[str, list[float]]]) -> str:
    """The sweep as a markdown table, one row per strength."""
    native = any("native" in row for row in rows.values())
    head = "| strength | start σ | SSIM kept, mean | SSIM kept, worst | detail vs Lanczos | PSNR vs Lanczos |"
    lines = [head + (" SSIM at native size |" if native else ""), "|---" * (7 if native else 6) + "|"]
    for strength, row in rows.items():
        cells = [
            f"{strength:.2f}",
            f"{statistics.fmean(row['sigma']):.2f}",
            f"{statistics.fmean(row['ssim']):.3f}",
            f"{min(row['ssim']):.3f}",
            f"{statistics.fmean(row['detail']):.2f}×",
            f"{statistics.fmean(row['psnr']):.1f} dB",
        ]
        if native:
            cells.append(f"{statistics.fmean(row['native']):.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _engine(family: str | None, folder: Path) -> Engine:
    if family is None:
        return Engine.load(EngineSettings())
    settings = EngineSettings(model=str(TINY[family](folder / family)), device="cpu", base_resolution=TINY_BASE)
    return Engine.load(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=sorted(TINY), help="a tiny random-weight family instead of the model")
    parser.add_argument("--prompts", type=int, default=4, help=f"how many of the {len(PROMPTS)} prompts")
    parser.add_argument("--seeds", type=int, default=2, help="grids per prompt")
    parser.add_argument("--cells", type=int, default=2, help="cells of each grid upscaled")
    parser.add_argument("--steps", type=int, default=20, help="denoising steps (the refinement runs steps × strength)")
    parser.add_argument("--strengths", type=float, nargs="+", default=STRENGTHS)
    parser.add_argument("--native", action="store_true", help="also refine at the source's size, for comparison")
    report.add_write_argument(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logger.setLevel(logging.INFO)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        engine = _engine(args.family, Path(folder))
        rows = measure(engine, args.prompts, args.seeds, args.cells, args.steps, tuple(args.strengths), args.native)
    facts = engine.adapter.facts
    sources = args.prompts * args.seeds * args.cells
    weights = "tiny random weights: shows the mechanism only" if args.family else "trained weights"
    chosen = ", ".join(f"{k} {v}" for k, v in facts.upscale_strength.items())
    body = (
        f"{facts.label} ({weights}), {sources} sources of {engine.base_resolution} px upscaled to "
        f"{2 * engine.base_resolution} px, {args.steps} steps; the family's upscale strengths now: {chosen}.\n\n"
        + table(rows)
    )
    name = f"upscale-{args.family or engine.name}"
    model = f"{engine.name} ({facts.label}, family {facts.family})"
    report.emit(args, name, report.section(name, f"Upscale strengths: {facts.label}", body, model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

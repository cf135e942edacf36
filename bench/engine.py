"""Benchmark the engine: seconds per 2×2 grid for the configured model (any family), by stage, against stock diffusers.

"Stock" is the same pipeline and weights used the way the diffusers docs show: the model's shipped scheduler and
the pipeline's default steps (50 for Stable Diffusion, 28 for SD3 and FLUX.1, 50 for Z-Image and FLUX.2 klein), one
image per call, four calls per grid, each image saved as a plain PNG, at the family's guidance; in fp32 when the
engine runs in fp32 (or in a separate fp32 copy, for the configured model in half precision), in the engine's
dtype for --full-size models. A second baseline runs stock calls at the engine's step count, to separate the gain
from batching (one batched run for four images) from the gain from the step count.

``--full-size FAMILY`` builds that family's full-size model from its published configuration with random weights
(bench/full_size.py; nothing is downloaded) on the configured device, in bf16 on CUDA: real-model speed and memory
on any machine that can hold it. Families: sd3-medium, sd3.5-medium, sd3.5-large, flux-schnell, flux-dev,
flux2-klein-4b, flux2-klein-9b, z-image.

Run: ``.venv/bin/python -m bench.engine [--runs 5] [--stock-runs 5] [--write docs/performance.md]``; on a GPU
``python -m bench.engine --full-size flux-dev``; a shortened CPU run: ``python -m bench.engine --full-size
sd3.5-medium --dtype bf16 --side 256 --steps 1 --runs 1 --warmup 0 --stock-runs 0``. Settings come from ``IMAGINE_*``.
"""

from __future__ import annotations

import argparse
import copy
import inspect
import io
import logging
import os
import resource
import statistics
import time
from typing import Any

import torch

from bench import full_size, report
from models import device as devices
from models.engine import Engine
from models.settings import EngineSettings
from worker.spec import Mode, PromptFields, Requester, WeightedPrompt, imagine_spec

PROMPT = "a lighthouse on a cliff at sunset, waves crashing below"
STAGES = (("encode_prompt", "text encoding"), ("denoise", "denoising"), ("decode", "VAE decode"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed engine grids (after the warm-up)")
    parser.add_argument("--stock-runs", type=int, default=5, help="timed stock grids (0: no stock baseline)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed grids first (compilation, caches)")
    parser.add_argument("--full-size", choices=sorted(full_size.FAMILIES), help="a full-size model, random weights")
    parser.add_argument("--side", type=int, help="image side in pixels (default: the model's base resolution)")
    parser.add_argument("--steps", type=int, help="engine steps (default: the model's, or IMAGINE_STEPS)")
    parser.add_argument("--dtype", choices=("auto", "bf16", "fp16", "fp32"), help="overrides IMAGINE_DTYPE")
    report.add_write_argument(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.manual_seed(0)

    settings = EngineSettings() if args.dtype is None else EngineSettings(dtype=args.dtype)
    engine, built = _engine(settings, args.full_size)
    side = args.side or engine.base_resolution
    steps = args.steps or engine.default_steps

    # Engine and stock grids alternate, so load from other processes on a shared machine hits both alike.
    pipe = _stock_pipeline(engine, copy_to_fp32=args.full_size is None) if args.stock_runs else None
    stock_steps = _default_steps(engine.model.pipe)
    rows, stock_default, stock_same = [], [], []
    for run in range(args.warmup + args.runs):
        timed = run >= args.warmup
        row = _engine_grid(engine, side, steps, run)
        if pipe is not None and run < args.warmup + args.stock_runs:
            slow = _stock_grid(engine, pipe, side, stock_steps, run)
            same = _stock_grid(engine, pipe, side, steps, run)
            if timed:
                stock_default.append(slow)
                stock_same.append(same)
        if timed:
            rows.append(row)

    total = statistics.median(r["total"] for r in rows)
    lines = [
        f"{engine.device}/{engine.dtype}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads; model "
        f"{built}in {engine.load_seconds:.2f} s. {side}×{side}, {steps} steps; {len(rows)} timed grids after "
        f"{args.warmup} warm-up.",
        "",
        "| engine, one 2×2 grid (batch of 4, guidance batched where the pipeline batches it) | p50 | min |",
        "|---|---|---|",
        f"| total (`run` + `files()`) | {total:.3f} s | {min(r['total'] for r in rows):.3f} s |",
        *(f"| {label} | {statistics.median(r[key] for r in rows):.3f} s | |" for key, label in STAGES),
        f"| grid + 5 PNGs with metadata | {statistics.median(r['output'] for r in rows):.3f} s | |",
        "",
        _memory_line(engine),
    ]
    if pipe is not None and stock_default:
        dtype = "fp32" if args.full_size is None else engine.dtype
        lines += [
            "",
            f"| stock diffusers, same weights ({type(pipe.scheduler).__name__}, {dtype}, 4 calls of 1 image) "
            "| p50 | min | engine speed-up (p50) |",
            "|---|---|---|---|",
        ]
        for label, times in (
            (f"default {stock_steps} steps", stock_default),
            (f"at the engine's {steps} steps", stock_same),
        ):
            stock = statistics.median(times)
            lines.append(f"| {label} | {stock:.3f} s | {min(times):.3f} s | {stock / total:.2f}× |")
    facts = engine.adapter.facts
    made = "published configuration, random weights; " if args.full_size else ""
    model = f"{engine.name} ({made}{facts.label}, family {facts.family}, base {engine.base_resolution} px)"
    accelerator = torch.cuda.get_device_name() if engine.device == "cuda" else None
    # A full-size run is its own section, beside (not over) the configured model's.
    name, title = ("engine", "Engine") if args.full_size is None else (f"engine-{args.full_size}", "Engine, full size")
    report.emit(args, name, report.section(name, title, "\n".join(lines), model, accelerator))


def _engine(settings: EngineSettings, family: str | None) -> tuple[Engine, str]:
    """The configured model, or a full-size family built with random weights; and how it was made, for the report."""
    if family is None:
        return Engine.load(settings), "loaded "
    placement = devices.choose(settings, transformer=True)
    weights = sum(full_size.parameter_count(family).values()) * placement.torch_dtype.itemsize
    free = _free_bytes(placement.device)
    if free is not None and weights > free:
        hint = "--dtype bf16, or a smaller family" if placement.dtype == "fp32" else "a smaller family"
        raise SystemExit(
            f"full-size {family} needs {weights / 2**30:.1f} GiB for its weights alone in {placement.dtype}; "
            f"{placement.device} has {free / 2**30:.1f} GiB free (try {hint})"
        )
    started = time.perf_counter()
    pipe = full_size.build(family, placement.device, placement.torch_dtype)
    seconds = time.perf_counter() - started
    engine = Engine.from_pipeline(pipe, settings, name=f"full-size-{family}")
    parameters = sum(p.numel() for module in pipe.components.values() if isinstance(module, torch.nn.Module)
                     for p in module.parameters())  # fmt: skip
    return engine, f"built ({parameters / 1e9:.2f}B parameters) in {seconds:.1f} s and placed "


def _free_bytes(device: str) -> int | None:
    """Memory free for weights on ``device`` (None where unknown)."""
    if device == "cuda":
        return torch.cuda.mem_get_info()[0]
    if device == "cpu" and hasattr(os, "sysconf"):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def _memory_line(engine: Engine) -> str:
    if engine.device == "cuda":
        return f"Peak GPU memory allocated: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB."
    # ru_maxrss is in KiB on Linux.
    return f"Peak resident memory of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GiB."


def _engine_grid(engine: Engine, side: int, steps: int, seed: int) -> dict[str, float]:
    fields = PromptFields(prompts=[WeightedPrompt(text=PROMPT)], width=side, height=side)
    card, requester = engine.card(), Requester(user_id=0, channel_id=0)
    spec = imagine_spec(fields, requester, Mode.FAST, steps, model=card.name, seed=seed * 4, guidance=card.guidance)
    result = engine.run(spec)
    result.files()
    row = {key: result.timings[key] for key, _ in STAGES}
    row["output"] = result.timings["grid"] + result.timings["files"]
    row["total"] = result.seconds + result.timings["files"]
    return row


def _stock_pipeline(engine: Engine, copy_to_fp32: bool) -> Any:
    components = dict(engine.model.pipe.components)
    components["scheduler"] = engine.model.shipped_scheduler
    if engine.dtype != "fp32" and copy_to_fp32:
        # A separate fp32 copy: the engine's own modules must keep their dtype.
        components = {
            k: copy.deepcopy(v).float() if isinstance(v, torch.nn.Module) else v for k, v in components.items()
        }
    if "safety_checker" in components:  # SD1/2 pipelines warn unless told the checker is off on purpose
        components["requires_safety_checker"] = False
    pipe = type(engine.model.pipe)(**components)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _default_steps(pipe: Any) -> int:
    """The pipeline's own default ``num_inference_steps``."""
    return int(inspect.signature(type(pipe).__call__).parameters["num_inference_steps"].default)


def _stock_grid(engine: Engine, pipe: Any, side: int, steps: int, seed: int) -> float:
    guidance = engine.card().guidance.at(100)
    started = time.perf_counter()
    for i in range(4):
        generator = torch.Generator("cpu").manual_seed(seed * 4 + i)
        # By keyword: FLUX.2 klein's first positional argument is a reference image.
        image = pipe(
            prompt=PROMPT, height=side, width=side, num_inference_steps=steps, guidance_scale=guidance,
            generator=generator,
        ).images[0]  # fmt: skip
        image.save(io.BytesIO(), format="PNG")
    return time.perf_counter() - started


if __name__ == "__main__":
    main()

"""Benchmark the engine: seconds per 2×2 grid for the configured model, by stage, against stock diffusers use.

"Stock" is the same pipeline and weights used the way the diffusers docs show: the model's shipped scheduler
and default steps (50), fp32, one image per call, four calls per grid, each image saved as a plain PNG. A
second baseline runs stock calls at the engine's step count, to separate the gain from batching (one batched
CFG run for four images) from the gain from fewer DPM-Solver++ steps.

Run: ``.venv/bin/python -m bench.engine [--runs 5] [--stock-runs 5] [--write docs/performance.md]``. Settings
come from ``IMAGINE_*``.
"""

from __future__ import annotations

import argparse
import copy
import io
import logging
import statistics
import time

import torch

from bench import report
from models.engine import Engine
from models.settings import EngineSettings
from worker.spec import Mode, PromptFields, Requester, WeightedPrompt, imagine_spec

PROMPT = "a lighthouse on a cliff at sunset, waves crashing below"
STAGES = (("encode_prompt", "text encoding"), ("denoise", "denoising"), ("decode", "VAE decode"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed engine grids (after one warm-up)")
    parser.add_argument("--stock-runs", type=int, default=5, help="timed stock grids (after one warm-up)")
    report.add_write_argument(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.manual_seed(0)

    engine = Engine.load(EngineSettings())
    side = engine.base_resolution
    steps = engine.settings.steps

    # Engine and stock grids alternate, so load from other processes on a shared machine hits both alike.
    pipe = _stock_pipeline(engine)
    rows, stock_50, stock_same = [], [], []
    for run in range(args.runs + 1):
        row = _engine_grid(engine, side, run)
        slow = _stock_grid(pipe, side, 50, run) if run <= args.stock_runs else None
        same = _stock_grid(pipe, side, steps, run) if run <= args.stock_runs else None
        if run == 0:
            continue  # warm-up
        rows.append(row)
        if slow is not None and same is not None:
            stock_50.append(slow)
            stock_same.append(same)

    total = statistics.median(r["total"] for r in rows)
    lines = [
        f"{engine.device}/{engine.dtype}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads; model "
        f"loaded in {engine.load_seconds:.2f} s. {side}×{side}, {steps} steps; {len(rows)} timed grids after a "
        "warm-up.",
        "",
        "| engine, one 2×2 grid (batch of 4, CFG batched) | p50 | min |",
        "|---|---|---|",
        f"| total (`run` + `files()`) | {total:.3f} s | {min(r['total'] for r in rows):.3f} s |",
        *(f"| {label} | {statistics.median(r[key] for r in rows):.3f} s | |" for key, label in STAGES),
        f"| grid + 5 PNGs with metadata | {statistics.median(r['output'] for r in rows):.3f} s | |",
        "",
        f"| stock diffusers, same weights ({type(pipe.scheduler).__name__}, fp32, 4 calls of 1 image) "
        "| p50 | min | engine speed-up (p50) |",
        "|---|---|---|---|",
    ]
    for label, times in (("default 50 steps", stock_50), (f"at the engine's {steps} steps", stock_same)):
        stock = statistics.median(times)
        lines.append(f"| {label} | {stock:.3f} s | {min(times):.3f} s | {stock / total:.2f}× |")
    model = f"{engine.name} ({engine.family}, base {side} px)"
    report.emit(args, "engine", report.section("engine", "Engine", "\n".join(lines), model=model))


def _engine_grid(engine: Engine, side: int, seed: int) -> dict[str, float]:
    fields = PromptFields(prompts=[WeightedPrompt(text=PROMPT)], width=side, height=side)
    requester = Requester(user_id=0, channel_id=0)
    spec = imagine_spec(fields, requester, Mode.FAST, engine.settings.steps, model=engine.name, seed=seed * 4)
    result = engine.run(spec)
    result.files()
    row = {key: result.timings[key] for key, _ in STAGES}
    row["output"] = result.timings["grid"] + result.timings["files"]
    row["total"] = result.seconds + result.timings["files"]
    return row


def _stock_pipeline(engine: Engine):
    components = dict(engine.model.pipe.components)
    components["scheduler"] = engine.model.shipped_scheduler
    if engine.dtype != "fp32":
        # A separate fp32 copy: the engine's own modules must keep their dtype.
        components = {
            k: copy.deepcopy(v).float() if isinstance(v, torch.nn.Module) else v for k, v in components.items()
        }
    if "safety_checker" in components:  # SD1/2 pipelines warn unless told the checker is off on purpose
        components["requires_safety_checker"] = False
    pipe = type(engine.model.pipe)(**components)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _stock_grid(pipe, side: int, steps: int, seed: int) -> float:
    started = time.perf_counter()
    for i in range(4):
        generator = torch.Generator("cpu").manual_seed(seed * 4 + i)
        image = pipe(PROMPT, height=side, width=side, num_inference_steps=steps, generator=generator).images[0]
        image.save(io.BytesIO(), format="PNG")
    return time.perf_counter() - started


if __name__ == "__main__":
    main()

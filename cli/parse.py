"""``imagine parse``: show how a prompt is understood, without generating anything.

Quote the prompt (``imagine parse "a red bird --ar 16:9"``), or put ``--`` before it when it starts with a
parameter. ``--json`` prints one ``PromptFields`` object per expanded job, exactly what the bot would queue.
Sizes are the bundled demo model's (as the bot's defaults), or those of the family ``--model`` names.
A prompt that does not parse exits with status 2, its title and message on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from bot.prompt import ParserOptions, PromptError, parse_prompt
from worker.sizes import BASE_RESOLUTION, DEFAULT_SIZE_STEP, SIZE_STEP
from worker.spec import PromptFields


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``parse`` and its arguments."""
    parser = subparsers.add_parser("parse", help="show how a prompt is understood")
    parser.add_argument("--json", action="store_true", help="print the parsed jobs as a JSON list")
    parser.add_argument(
        "--model",
        default="demo",
        choices=sorted(BASE_RESOLUTION),
        help="the model family whose sizes --ar gives (default: demo, the bundled model)",
    )
    parser.add_argument("--model-base", type=int, metavar="N", help="base resolution (default: the model family's)")
    parser.add_argument("--size-step", type=int, metavar="N", help="image sides are multiples of N (default: ditto)")
    parser.add_argument("prompt", nargs="+", help="the /imagine prompt; several words are joined by spaces")
    return parser


def run(args: argparse.Namespace) -> int:
    """Parse the prompt and print the jobs; 2 when the prompt or the options are invalid."""
    base = BASE_RESOLUTION[args.model] if args.model_base is None else args.model_base
    step = SIZE_STEP.get(args.model, DEFAULT_SIZE_STEP) if args.size_step is None else args.size_step
    try:
        options = ParserOptions(base=base, size_step=step)
    except ValueError as exc:
        print(f"imagine parse: {exc}", file=sys.stderr)
        return 2
    try:
        jobs = parse_prompt(" ".join(args.prompt), options)
    except PromptError as exc:
        print(f"{exc.title}: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(exc.hint, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([job.model_dump(mode="json") for job in jobs], ensure_ascii=False, indent=2))
    else:
        for number, job in enumerate(jobs, 1):
            print(_summary(job, number, len(jobs)))
    return 0


def _summary(job: PromptFields, number: int, total: int) -> str:
    """A few readable lines describing one job."""
    seed = "random" if job.seed is None else str(job.seed)
    lines = [
        f"job {number} of {total}: {job.text}",
        f"  negative: {job.negative}" if job.negative else None,
        f"  size: {job.width}×{job.height} (aspect {job.aspect}), model: {job.model or 'default'}",
        f"  stylize {job.stylize}, chaos {job.chaos}, quality {job.quality:g}, stop {job.stop}, seed {seed}",
        f"  repeat {job.repeat}, tile {'on' if job.tile else 'off'}, style {'raw' if job.raw else 'house'}, "
        f"mode {job.mode or 'default'}",
    ]
    return "\n".join(line for line in lines if line is not None)

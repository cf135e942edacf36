"""``imagine generate | vary | upscale``: run the generation engine locally, without Discord or a queue.

* ``imagine generate "a red bird --ar 16:9"`` writes ``grid.png`` and ``1.png``…``4.png``.
* ``imagine vary IMAGE --strong|--subtle`` writes four variations of IMAGE (and their grid); the prompt is read
  from IMAGE's PNG metadata when it has some, or given with ``--prompt``.
* ``imagine upscale IMAGE [--creative]`` writes ``1.png`` at twice the size.

The model and its settings come from ``IMAGINE_*`` environment variables (models/settings.py). With ``--json``
each command prints one JSON object: seed, width, height, files, seconds, model. Bad input exits 2 with a
message on stderr: a prompt that does not parse, or an image that is unreadable, not PNG/JPEG/WebP, or too small
or too large (worker/images.py; checked from its header, before the model loads). A model that does not load or
a failed job exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PIL import Image

from bot.prompt import ParserOptions, PromptError, parse_prompt
from cli import logs
from worker.images import MAX_PIXELS, MAX_SIDE, MIN_SIDE, ImageInputError, open_image
from worker.sizes import Aspect, size_for_aspect
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

# Local runs have no Discord user; the spec still needs a requester.
LOCAL_REQUESTER = Requester(user_id=0, channel_id=0)

IMAGE_HELP = (
    f"a PNG, JPEG or WebP file, {MIN_SIDE} to {MAX_SIDE} px a side and at most {MAX_PIXELS / 1e6:.1f} megapixels"
)


class InputError(Exception):
    """Bad command-line input: exits 2 with this message."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``generate``, ``vary`` and ``upscale``."""
    generate = subparsers.add_parser("generate", help="make a grid of four images from a prompt")
    generate.add_argument("prompt", nargs="+", help="the /imagine prompt, flags included")
    vary = subparsers.add_parser("vary", help="make four variations of an image")
    vary.add_argument("image", type=Path, help=IMAGE_HELP)
    how = vary.add_mutually_exclusive_group(required=True)
    how.add_argument("--strong", dest="strength", action="store_const", const=Strength.STRONG)
    how.add_argument("--subtle", dest="strength", action="store_const", const=Strength.SUBTLE)
    vary.add_argument("--prompt", help="prompt to vary toward (default: the prompt stored in IMAGE, if any)")
    upscale = subparsers.add_parser("upscale", help="upscale an image 2× with refinement")
    upscale.add_argument("image", type=Path, help=IMAGE_HELP)
    upscale.add_argument("--creative", dest="strength", action="store_const", const=Strength.CREATIVE)
    upscale.set_defaults(strength=Strength.SUBTLE)
    upscale.add_argument("--prompt", help="prompt guiding the refinement (default: the one stored in IMAGE)")
    for parser in (generate, vary, upscale):
        parser.add_argument("-o", "--output", type=Path, default=Path("out"), help="folder for the images")
        parser.add_argument("--json", action="store_true", help="print one JSON object describing the result")


def run(args: argparse.Namespace) -> int:
    """Load the engine, run one job, write its files; returns the exit status."""
    logs.setup(logs.Verbosity.QUIET)  # warnings and errors only, no progress bars: stdout is the result
    source = None
    if args.command != "generate":
        try:
            source = _read_image(args.image)
        except InputError as exc:
            print(f"imagine {args.command}: {exc}", file=sys.stderr)
            return 2
    # Imported here so ``imagine --help`` and an unreadable image never wait for torch.
    from models.engine import Engine, EngineError
    from models.loader import ModelLoadError
    from models.settings import EngineSettings

    try:
        engine = Engine.load(EngineSettings())
        spec = _spec(args, engine, source)
        result = engine.run(spec, source=source)
    except InputError as exc:
        print(f"imagine {args.command}: {exc}", file=sys.stderr)
        return 2
    except ModelLoadError as exc:
        print(f"imagine {args.command}: cannot load the model: {exc.message}", file=sys.stderr)
        return 1
    except EngineError as exc:
        print(f"imagine {args.command}: {exc.message}", file=sys.stderr)
        return 1

    args.output.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in result.files().items():
        path = args.output / name
        path.write_bytes(data)
        written.append(str(path))
    summary = {
        "seed": result.seed,
        "width": result.width,
        "height": result.height,
        "files": written,
        "seconds": round(result.seconds, 3),
        "model": result.model,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{result.width}x{result.height}, seed {result.seed}, {result.seconds:.1f}s on {result.model}")
        for path in written:
            print(path)
    return 0


def _spec(args: argparse.Namespace, engine, source: Image.Image | None) -> JobSpec:
    # As the bot fills specs from a worker's model card: the family's steps and its --stylize → guidance curve.
    card = engine.card()
    steps, curve = card.default_steps, card.guidance
    if args.command == "generate":
        fields = _parse(" ".join(args.prompt), engine)
        return imagine_spec(fields, LOCAL_REQUESTER, Mode.FAST, steps, model=card.name, guidance=curve)
    assert source is not None
    text = args.prompt if args.prompt is not None else source.info.get("prompt", "")
    width, height = _size_for(source, engine, upscale=args.command == "upscale")
    if text:
        fields = _parse(text, engine).model_copy(update={"width": width, "height": height})
    else:
        fields = PromptFields(prompts=[WeightedPrompt(text="")], width=width, height=height)
    kind = JobKind.VARIATION if args.command == "vary" else JobKind.UPSCALE
    # The image stands for the parent job that would have made it from this prompt; a --seed in the prompt is
    # the follow-up's own seed.
    parent = imagine_spec(fields, LOCAL_REQUESTER, Mode.FAST, steps, model=card.name, guidance=curve)
    return follow_up_spec(parent, kind, args.strength, 1, LOCAL_REQUESTER, Mode.FAST, steps, seed=fields.seed)


def _parse(text: str, engine) -> PromptFields:
    try:
        jobs = parse_prompt(text, ParserOptions(base=engine.base_resolution, size_step=engine.size_step))
    except PromptError as exc:
        raise InputError(f"{exc.title}: {exc.message}") from exc
    return jobs[0]


def _read_image(path: Path) -> Image.Image:
    """The image at ``path``, checked (format, size from its header) before it is decoded; raises InputError."""
    try:
        return open_image(path)
    except ImageInputError as exc:
        raise InputError(f"{path}: {exc.message}") from exc


def _size_for(source: Image.Image, engine, upscale: bool) -> tuple[int, int]:
    """The job size for a source image: its own when the model can take it, else the model's size for its ratio."""
    width, height = source.size
    base = engine.base_resolution
    if upscale:
        longest = engine.max_side // 2
        if max(width, height) > longest:
            raise InputError(f"image is {width}x{height}; upscales take images up to {longest} px per side")
        multiple = engine.adapter.facts.pixel_multiple  # the family's VAE factor (× its patch size)
        return max(multiple, width - width % multiple), max(multiple, height - height % multiple)
    fits = width % engine.size_step == 0 and height % engine.size_step == 0 and width * height <= 1.1 * base * base
    return (width, height) if fits else size_for_aspect(Aspect.of(width, height), base, engine.size_step)

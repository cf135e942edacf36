"""The ``imagine`` command line: one console script, one module per subcommand.

Each subcommand module exposes ``add_parser(subparsers)`` and ``run(args) -> int``. They are imported only
when chosen, so ``imagine parse`` never pays for torch and ``imagine bot`` never imports the engine.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name → (module, one-line help). Modules are imported lazily, on use.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "parse": ("cli.parse", "show how a prompt is understood"),
    "generate": ("cli.generate", "make a grid of four images from a prompt, locally"),
    "vary": ("cli.generate", "make four variations of an image, locally"),
    "upscale": ("cli.generate", "upscale an image 2x with refinement, locally"),
    "worker": ("cli.worker", "run a generation worker"),
    "bot": ("cli.bot", "run the Discord bot"),
    "run": ("cli.run", "run everything locally: Redis, a worker, the bot (and a local Discord without a token)"),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser, for usage and help; each subcommand builds its own arguments."""
    parser = argparse.ArgumentParser(prog="imagine", description="Midjourney-style image generation for Discord.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_module, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``imagine`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[argv[0]][0])
        parser = argparse.ArgumentParser(prog="imagine")
        sub = parser.add_subparsers(dest="command", required=True)
        module.add_parser(sub)
        args = parser.parse_args(argv)
        return int(module.run(args) or 0)
    build_parser().parse_args(argv)  # prints usage / help and exits
    return 2


if __name__ == "__main__":
    sys.exit(main())

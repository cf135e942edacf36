"""``imagine worker``: load the engine once, then run queued jobs until SIGTERM."""

from __future__ import annotations

import argparse
import logging

from cli import logs
from cli.logs import Verbosity
from worker.spec import Mode


def _modes(text: str) -> list[Mode]:
    try:
        return [Mode(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"queues are a comma list of {', '.join(Mode)}, not {text!r}") from None


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``worker`` subcommand."""
    parser = subparsers.add_parser("worker", help="run a generation worker", description=__doc__)
    parser.add_argument(
        "--queues", type=_modes, default=[Mode.FAST, Mode.RELAX], help="comma list of modes (default fast,relax)"
    )
    parser.add_argument("--burst", action="store_true", help="quit once the queues are empty")
    parser.add_argument("--name", help="worker name prefix (default: random)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def run(args: argparse.Namespace) -> int:
    """Start the worker; settings come from IMAGINE_* environment variables."""
    from worker.metrics import serve_metrics
    from worker.process import EngineLoadError, serve
    from worker.settings import QueueSettings

    logs.setup(Verbosity.NORMAL, debug=args.verbose)
    log = logging.getLogger(__name__)
    settings = QueueSettings()
    # Before the engine loads (which can take minutes), so a scrape already sees the worker.
    serve_metrics(settings.metrics_host, settings.worker_metrics_port)
    try:
        processed = serve(settings, args.queues, burst=args.burst, name=args.name)
    except EngineLoadError as exc:
        log.error("worker: %s", exc, exc_info=args.verbose)
        return 1
    log.info("worker: stopped after %d jobs", processed)
    return 0

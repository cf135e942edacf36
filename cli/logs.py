"""One logging setup for every ``imagine`` command, and how ``imagine run`` keeps its terminal readable.

The verbosity comes from ``IMAGINE_LOG`` (``imagine run`` sets it for its parts) or else from the command:

- quiet: each part's ready line, one line per job, and real warnings and errors. ``imagine run`` without
  ``--verbose``; ``imagine generate``, which prints only its result. The ready and job lines are the records logged
  with ``extra={"headline": True}``: shown as the bare message; warnings and errors as "LEVEL logger: message".
- normal: INFO and up with timestamps, as a service logs: ``imagine worker`` and ``imagine bot`` on their own.
- verbose: normal, plus the noise the others hide: ``imagine run --verbose``, and ``-v`` (which adds DEBUG).

The noise: tqdm progress bars (diffusers and transformers loading a model), transformers' warnings that it falls
back to PIL image processors without torchvision, discord.py's warnings that voice needs PyNaCl and davey (the bot
never uses voice), and the sandbox's warning that Discord's OpenAPI document is missing. Whatever the verbosity,
RQ's per-job success lines are DEBUG: RQ reports "Successfully completed" for any job function that returns,
cancelled and failed jobs included; the job's own log line (worker.tasks) says how it ended.
"""

from __future__ import annotations

import logging
import os
from enum import StrEnum
from typing import TextIO

ENV = "IMAGINE_LOG"
HEADLINE = "headline"  # the ``extra`` key of a record quiet mode shows: a ready line, a job's line
TIMESTAMPED = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Verbosity(StrEnum):
    """How much a process logs (see the module docstring)."""

    QUIET = "quiet"
    NORMAL = "normal"
    VERBOSE = "verbose"


# logger → what in its messages marks noise (substrings of the formatted message).
NOISE: dict[str, tuple[str, ...]] = {
    "discord.client": ("PyNaCl is not installed", "davey is not installed"),
    "transformers.utils.import_utils": ("requires torchvision (not installed)",),
    "sandbox.schema": ("OpenAPI document not found",),
}
# RQ's lines for a job whose function returned: "Successfully completed …", "… Job OK (id)", "… result is kept …".
RQ_SUCCESS = ("Successfully completed", "Job OK", "result is kept for")


def verbosity(default: Verbosity) -> Verbosity:
    """IMAGINE_LOG's verbosity when it names one, else ``default``."""
    try:
        return Verbosity(os.environ.get(ENV, "").strip().lower())
    except ValueError:
        return default


def setup(default: Verbosity, *, debug: bool = False) -> Verbosity:
    """Configure this process's logging for IMAGINE_LOG (else ``default``); ``debug`` means verbose, at DEBUG.

    Like ``logging.basicConfig``, the root handler is added only when the root logger has none (a test's
    capture handler is left alone). Returns the verbosity chosen.
    """
    chosen = Verbosity.VERBOSE if debug else verbosity(default)
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(handler(chosen))
        root.setLevel(logging.DEBUG if debug else logging.INFO)
    for name, marks in NOISE.items():
        _set_filter(logging.getLogger(name), _Demote(marks), on=chosen is not Verbosity.VERBOSE)
    _set_filter(logging.getLogger("rq.worker"), _Demote(RQ_SUCCESS), on=True)
    if chosen is not Verbosity.VERBOSE:
        # tqdm reads TQDM_* defaults when it is imported: set before diffusers or transformers load it. diffusers'
        # "Loading pipeline components" bar has no switch of its own.
        os.environ.setdefault("TQDM_DISABLE", "1")
    return chosen


def handler(chosen: Verbosity, stream: TextIO | None = None) -> logging.Handler:
    """The root handler for a verbosity (to stderr by default): quiet shows headlines, warnings and errors."""
    out = logging.StreamHandler(stream)
    if chosen is Verbosity.QUIET:
        out.addFilter(_shown_when_quiet)
        out.setFormatter(_QuietFormatter())
    else:
        out.setFormatter(logging.Formatter(TIMESTAMPED))
    return out


def _shown_when_quiet(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or bool(getattr(record, HEADLINE, False))


class _QuietFormatter(logging.Formatter):
    """Headlines as the bare message; anything else (a warning, an error) says its level and logger."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        return record.message if getattr(record, HEADLINE, False) else super().formatMessage(record)


class _Demote(logging.Filter):
    """Turns its logger's records containing one of ``marks`` into DEBUG records (dropped unless DEBUG is on)."""

    def __init__(self, marks: tuple[str, ...]) -> None:
        super().__init__()
        self.marks = marks

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG or not any(mark in record.getMessage() for mark in self.marks):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)

    def __eq__(self, other: object) -> bool:  # so that setting up twice installs one filter
        return isinstance(other, _Demote) and other.marks == self.marks

    def __hash__(self) -> int:
        return hash(self.marks)


def _set_filter(logger: logging.Logger, demote: _Demote, *, on: bool) -> None:
    logger.removeFilter(demote)
    if on:
        logger.addFilter(demote)

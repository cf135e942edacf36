"""Parameters: the ``--flag value`` words at the end of a prompt.

As in Midjourney, parameters go at the end: the prompt is everything before the first parameter, and every word
after it must belong to one. A parameter starts with ``--``, an em dash ``—`` or an en dash ``–`` (phones turn
``--`` into a dash) and its name is case-insensitive. A dash alone is ordinary prompt text.

``--v NAME`` / ``--version NAME`` asks for the model alias NAME (``--v 6`` → "6"); ``--niji`` asks for the
alias "niji" and ``--niji 6`` for "niji 6". Whether an alias exists is for the parser, which knows the
configured models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from bot.prompt_error import PromptError, shown
from worker.sizes import Aspect
from worker.spec import MAX_SEED, Mode

# The hint of every parameter error (and of no other prompt error).
PARAMETER_HINT = "Parameters go at the end of the prompt, e.g. `a red bird --ar 16:9 --chaos 20`."


class Takes(Enum):
    """How many of the following words a parameter takes as its value."""

    NOTHING = 0
    ONE = 1
    WORDS = 2  # every word up to the next parameter (--no)
    VERSION = 3  # one word if it is a version number (--niji 6), else none


@dataclass(frozen=True)
class Param:
    names: tuple[str, ...]  # the first is how messages name it
    takes: Takes
    example: str


PARAMS: tuple[Param, ...] = (
    Param(("ar", "aspect"), Takes.ONE, "--ar 16:9"),
    Param(("stylize", "s"), Takes.ONE, "--stylize 250"),
    Param(("chaos", "c"), Takes.ONE, "--chaos 50"),
    Param(("seed",), Takes.ONE, "--seed 1234"),
    Param(("no",), Takes.WORDS, "--no fruit, trees"),
    Param(("quality", "q"), Takes.ONE, "--quality .5"),
    Param(("stop",), Takes.ONE, "--stop 80"),
    Param(("tile",), Takes.NOTHING, "--tile"),
    Param(("repeat", "r"), Takes.ONE, "--repeat 2"),
    Param(("style",), Takes.ONE, "--style raw"),
    Param(("fast",), Takes.NOTHING, "--fast"),
    Param(("relax",), Takes.NOTHING, "--relax"),
    Param(("v", "version"), Takes.ONE, "--v 6"),
    Param(("niji",), Takes.VERSION, "--niji 6"),
)
_BY_NAME: dict[str, Param] = {name: param for param in PARAMS for name in param.names}

# Pairs that ask for contradictory things, by first name.
_CONFLICTS: tuple[tuple[str, str, str], ...] = (
    ("fast", "relax", "--fast and --relax can't be used together; choose one."),
    ("v", "niji", "--v and --niji both choose a model; use one of them."),
)

_PREFIX = re.compile(r"(?:--|—|–)(?=[^-—–])")
_WHOLE = re.compile(r"[0-9]{1,12}")  # ASCII only: str.isdigit() and int() also accept "²" and "٣"
_RATIO = re.compile(r"([0-9]{1,12}):([0-9]{1,12})")
_VERSION = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,4})?")
_QUALITIES = {".25": 0.25, "0.25": 0.25, ".5": 0.5, "0.5": 0.5, "1": 1.0, "1.0": 1.0, "2": 2.0, "2.0": 2.0}


@dataclass
class Flags:
    """The parameters of one prompt, checked; ``model`` is the requested alias, not yet looked up."""

    aspect: Aspect = field(default_factory=lambda: Aspect(1, 1))
    stylize: int = 100
    chaos: int = 0
    seed: int | None = None
    negative: str | None = None
    quality: float = 1.0
    stop: int = 100
    tile: bool = False
    repeat: int = 1
    raw: bool = False
    mode: Mode | None = None
    model: str | None = None
    model_flag: str | None = None  # the words that asked for the model, for messages


@dataclass(frozen=True)
class _Given:
    param: Param
    spelled: str  # "--" + the name as typed, lowercased
    values: tuple[str, ...]


def flag_name(word: str) -> str | None:
    """The lowercased name if ``word`` starts a parameter (``--ar``, ``—ar``, ``–AR``), else None."""
    match = _PREFIX.match(word)
    return word[match.end() :].lower() if match else None


def split_flags(text: str) -> tuple[str, list[str]]:
    """Split ``text`` into the prompt (before the first parameter) and the words from that parameter on."""
    words = text.split()
    first = next((i for i, word in enumerate(words) if flag_name(word) is not None), len(words))
    return " ".join(words[:first]), words[first:]


def parse_flags(words: list[str]) -> Flags:
    """Check and apply the parameter words from ``split_flags``.

    Raises PromptError for unrecognized parameters or stray words, duplicated or conflicting parameters,
    missing values and invalid values, in that order of precedence.
    """
    given, unrecognized = _group(words)
    if unrecognized:
        raise _error("Invalid parameter", "Unrecognized parameter(s): " + ", ".join(unrecognized))
    _check_repeats(given)
    flags = Flags()
    for item in given:
        if item.param.takes in (Takes.ONE, Takes.WORDS) and not item.values:
            raise _error("Invalid parameter", f"Missing value for {item.spelled} (e.g. {item.param.example})")
        _apply(flags, item)
    return flags


def _group(words: list[str]) -> tuple[list[_Given], list[str]]:
    given: list[_Given] = []
    unrecognized: list[str] = []
    i = 0
    while i < len(words):
        name = flag_name(words[i])
        # Names are ASCII; lower() maps some other letters onto ASCII ones (the Kelvin sign "K" → "k").
        param = _BY_NAME.get(name) if name is not None and words[i].lstrip("—–").isascii() else None
        if name is None or param is None:
            unrecognized.append(words[i])  # an unknown parameter, or a stray word after a parameter
            i += 1
            continue
        run = i + 1  # the words after the parameter, up to the next one
        while run < len(words) and flag_name(words[run]) is None:
            run += 1
        end = i + 1 + _value_count(param, words[i + 1 : run])
        given.append(_Given(param, "--" + name, tuple(words[i + 1 : end])))
        i = end
    return given, unrecognized


def _value_count(param: Param, following: list[str]) -> int:
    if param.takes is Takes.ONE:
        return min(1, len(following))
    if param.takes is Takes.WORDS:
        return len(following)
    if param.takes is Takes.VERSION:
        return 1 if following and _VERSION.fullmatch(following[0]) else 0
    return 0


def _check_repeats(given: list[_Given]) -> None:
    seen: dict[str, list[str]] = {}
    for item in given:
        seen.setdefault(item.param.names[0], []).append(item.spelled)
    for name, spellings in seen.items():
        if len(spellings) > 1:
            raise _error(
                "Duplicate parameter",
                f"--{name} was given more than once (as {', '.join(spellings)}); give each parameter once.",
            )
    for first, second, message in _CONFLICTS:
        if first in seen and second in seen:
            raise _error("Conflicting parameters", message)


def _apply(flags: Flags, item: _Given) -> None:
    name = item.param.names[0]
    value = item.values[0] if item.values else ""
    if name == "ar":
        flags.aspect = _aspect(item.spelled, value)
    elif name == "stylize":
        flags.stylize = _whole(item.spelled, value, 0, 1000)
    elif name == "chaos":
        flags.chaos = _whole(item.spelled, value, 0, 100)
    elif name == "seed":
        flags.seed = _whole(item.spelled, value, 0, MAX_SEED)
    elif name == "no":
        terms = [" ".join(term.split()) for term in " ".join(item.values).split(",")]
        if not any(terms):
            raise _error("Invalid parameter", f"Missing value for {item.spelled} (e.g. {item.param.example})")
        flags.negative = ", ".join(term for term in terms if term)
    elif name == "quality":
        if value not in _QUALITIES:
            raise _invalid(item.spelled, value, "must be one of .25, .5, 1 or 2")
        flags.quality = _QUALITIES[value]
    elif name == "stop":
        flags.stop = _whole(item.spelled, value, 10, 100)
    elif name == "tile":
        flags.tile = True
    elif name == "repeat":
        flags.repeat = _whole(item.spelled, value, 2, 4)
    elif name == "style":
        if value.lower() != "raw":
            raise _invalid(item.spelled, value, "only --style raw is supported")
        flags.raw = True
    elif name in ("fast", "relax"):
        flags.mode = Mode(name)
    elif name == "v":
        flags.model, flags.model_flag = value, f"{item.spelled} {value}"
    elif name == "niji":
        flags.model = " ".join(("niji", *item.values))
        flags.model_flag = " ".join((item.spelled, *item.values))


def _whole(spelled: str, value: str, low: int, high: int) -> int:
    if not _WHOLE.fullmatch(value) or not low <= int(value) <= high:
        raise _invalid(spelled, value, f"must be a whole number from {low} to {high}")
    return int(value)


def _aspect(spelled: str, value: str) -> Aspect:
    match = _RATIO.fullmatch(value)
    width, height = (int(match[1]), int(match[2])) if match else (0, 0)
    if not (width and height):
        raise _invalid(spelled, value, "both sides must be positive whole numbers, e.g. --ar 16:9")
    if width > 4 * height or height > 4 * width:
        raise _invalid(spelled, value, "the ratio must be between 1:4 and 4:1")
    return Aspect.of(width, height)


def _invalid(spelled: str, value: str, reason: str) -> PromptError:
    return _error("Invalid parameter", f"Invalid value for {spelled}: {shown(value)} ({reason})")


def _error(title: str, message: str) -> PromptError:
    """A parameter error: only these carry PARAMETER_HINT (an image link or unbalanced braces would not be helped)."""
    return PromptError(title, message, PARAMETER_HINT)

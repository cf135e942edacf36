"""The /imagine prompt language: text in, one typed ``PromptFields`` per job out.

Parsing goes in this order, and the first problem found is the one reported:

1. length: more than ``max_length`` characters is refused before any work;
2. permutations: ``{a, b}`` braces are expanded over the whole text, parameters included (``bot.permutations``);
3. for each expansion: an image link at the start is refused (image prompts are not supported yet);
4. the prompt (before the first parameter) is split into weighted parts at ``::`` (``bot.multiprompt``);
5. the parameters are checked (``bot.flags``) and the requested model alias is looked up;
6. width and height come from ``--ar`` and the chosen model's base resolution (``worker.sizes``).

Every problem is a ``PromptError`` carrying a short title and message for the user; nothing else escapes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.flags import parse_flags, split_flags
from bot.multiprompt import split_multiprompt
from bot.permutations import expand_permutations
from bot.prompt_error import PromptError
from worker.sizes import BASE_RESOLUTION, DEFAULT_SIZE_STEP, Aspect, size_for_aspect
from worker.spec import PromptFields

__all__ = ["ParserOptions", "PromptError", "UnknownModel", "parse_prompt"]

# Discord wraps a link in <> to stop its preview; both forms are an image prompt.
_IMAGE_URL = re.compile(r"<?https?://", re.IGNORECASE)


class UnknownModel(PromptError):
    """``--v``/``--version``/``--niji`` asked for a model the options do not know: ``requested`` is the name asked
    for, ``asked_by`` the words that asked ("--v 6"). The bot answers it with the models online."""

    def __init__(self, message: str, requested: str, asked_by: str):
        super().__init__("Unknown model", message)
        self.requested = requested
        self.asked_by = asked_by


@dataclass(frozen=True)
class ParserOptions:
    """What the parser needs to know about this deployment.

    ``base`` and ``size_step`` describe the default model. ``aliases`` maps each model alias that ``--v`` and
    ``--niji`` may choose to that model's (base, size_step): ``--v 6`` asks for alias "6", ``--niji`` for
    "niji", ``--niji 6`` for "niji 6"; aliases match case-insensitively. Raises ValueError for a base that is
    not a positive multiple of its size step, or two aliases differing only in case.
    """

    base: int = BASE_RESOLUTION["sd1"]
    size_step: int = DEFAULT_SIZE_STEP
    aliases: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    max_length: int = 1500
    max_permutations: int = 40

    def __post_init__(self) -> None:
        # A copy behind a read-only view, so the caller's dict cannot change a frozen options object.
        object.__setattr__(self, "aliases", MappingProxyType(dict(self.aliases)))
        size_for_aspect(Aspect(1, 1), self.base, self.size_step)  # raises ValueError when misconfigured
        for base, step in self.aliases.values():
            size_for_aspect(Aspect(1, 1), base, step)
        if len({name.casefold() for name in self.aliases}) != len(self.aliases):
            raise ValueError(f"model aliases differ only in case: {sorted(self.aliases)}")
        if self.max_length < 1 or self.max_permutations < 1:
            raise ValueError("max_length and max_permutations must be at least 1")


def parse_prompt(text: str, options: ParserOptions | None = None) -> list[PromptFields]:
    """Parse the text of /imagine into one ``PromptFields`` per expanded permutation, in order.

    Raises PromptError, and only PromptError, for any text that is not a valid prompt.
    """
    options = options or ParserOptions()
    if len(text) > options.max_length:
        raise PromptError(
            "Prompt too long",
            f"Your prompt is {len(text)} characters long; the limit is {options.max_length}.",
        )
    return [_parse_one(variant, options) for variant in expand_permutations(text, options.max_permutations)]


def _parse_one(text: str, options: ParserOptions) -> PromptFields:
    prompt, flag_words = split_flags(text)
    if _IMAGE_URL.match(prompt):
        raise PromptError(
            "Image prompts not supported",
            "Image prompts are not supported yet: remove the link at the start and describe the image in words.",
        )
    prompts = split_multiprompt(prompt)
    flags = parse_flags(flag_words)
    model, base, step = _model(flags.model, flags.model_flag, options)
    width, height = size_for_aspect(flags.aspect, base, step)
    return PromptFields(
        prompts=prompts,
        negative=flags.negative,
        aspect=str(flags.aspect),
        width=width,
        height=height,
        stylize=flags.stylize,
        chaos=flags.chaos,
        seed=flags.seed,
        quality=flags.quality,
        stop=flags.stop,
        tile=flags.tile,
        repeat=flags.repeat,
        raw=flags.raw,
        mode=flags.mode,
        model=model,
    )


def _model(requested: str | None, asked_by: str | None, options: ParserOptions) -> tuple[str | None, int, int]:
    """The configured alias name and its (base, size_step); the default model when none was requested."""
    if requested is None:
        return None, options.base, options.size_step
    by_folded = {name.casefold(): name for name in options.aliases}
    name = by_folded.get(requested.casefold())
    if name is not None:
        return name, *options.aliases[name]
    asked_by = asked_by or requested
    if not options.aliases:
        message = (
            f"{asked_by} asks for a model, but no model aliases are configured here; "
            "leave out --v and --niji to use the default model."
        )
        raise UnknownModel(message, requested, asked_by)
    known = ", ".join(f'"{alias}"' for alias in sorted(options.aliases))
    raise UnknownModel(
        f'{asked_by} asks for model "{requested}"; the configured ones are: {known}.', requested, asked_by
    )

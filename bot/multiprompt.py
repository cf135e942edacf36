"""Multi-prompts: ``hot:: dog::2`` splits a prompt into parts with their own weights.

A weight directly follows ``::`` (``::2``, ``::1.5``, ``::-0.5``, ``::.5``); ``::`` without a number gives the
part before it weight 1, as does the end of the prompt. Negative weights push away from a concept, but the
weights together must add up to more than 0, as Midjourney requires.
"""

from __future__ import annotations

import re
from fractions import Fraction

from bot.prompt_error import PromptError, shown
from worker.spec import WeightedPrompt

# Only ASCII digits: float() would also take "nan", "inf", "1e999" and other scripts' digits.
_SEPARATOR = re.compile(r"::(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))?")

# Keeps weights finite and meaningful; Midjourney documents no bound, real prompts use single digits.
MAX_WEIGHT = 1000


def split_multiprompt(text: str) -> list[WeightedPrompt]:
    """The weighted parts of ``text``, whitespace tidied; parts with no text are dropped.

    Raises PromptError when no part has text, a weight is out of range, or the weights add up to 0 or less.
    """
    parts: list[tuple[str, Fraction]] = []
    start = 0
    for match in _SEPARATOR.finditer(text):
        parts.append((text[start : match.start()], _weight(match.group(1))))
        start = match.end()
    parts.append((text[start:], Fraction(1)))
    kept = [(" ".join(part.split()), weight) for part, weight in parts if part.strip()]
    if not kept:
        raise PromptError(
            "Empty prompt",
            "There is nothing to draw: describe what you want to see, before any parameters.",
            hint="For example: a red bird --ar 16:9",
        )
    total = sum(weight for _, weight in kept)
    if total <= 0:
        raise PromptError(
            "Invalid weights",
            f"The weights of a multi-prompt must add up to more than 0; yours add up to {float(total):g}.",
            hint="Negative weights subtract: hot dog::1.5 food::-1 adds up to 0.5.",
        )
    return [WeightedPrompt(text=part, weight=float(weight)) for part, weight in kept]


def _weight(raw: str | None) -> Fraction:
    if raw is None:
        return Fraction(1)
    weight = Fraction(raw)  # exact, so the total's sign is never a rounding artefact
    if abs(weight) > MAX_WEIGHT:
        raise PromptError(
            "Invalid weights",
            f"Weight {shown('::' + raw)} is out of range: weights go from -{MAX_WEIGHT} to {MAX_WEIGHT}.",
        )
    return weight

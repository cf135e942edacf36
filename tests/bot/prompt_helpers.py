"""Shared helpers for the prompt-language tests."""

from __future__ import annotations

import pytest

from bot.prompt import ParserOptions, PromptError, parse_prompt
from worker.spec import PromptFields

ALIASES = ParserOptions(aliases={"6": (1024, 64), "niji": (768, 64), "Niji 6": (1024, 64)})


def one(text: str, options: ParserOptions | None = None) -> PromptFields:
    """The single job ``text`` parses to."""
    jobs = parse_prompt(text, options)
    assert len(jobs) == 1
    return jobs[0]


def error(text: str, options: ParserOptions | None = None) -> PromptError:
    """The PromptError ``text`` raises."""
    with pytest.raises(PromptError) as info:
        parse_prompt(text, options)
    return info.value

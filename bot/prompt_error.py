"""The one error type of the prompt-parsing boundary.

It lives in its own module so that the prompt's parts (permutations, multi-prompts, flags) can raise it without
importing the parser that ties them together.
"""

from __future__ import annotations


class PromptError(ValueError):
    """A prompt that cannot be understood; ``title`` and ``message`` (and ``hint``) are safe to show the user."""

    def __init__(self, title: str, message: str, hint: str | None = None):
        super().__init__(f"{title}: {message}")
        self.title = title
        self.message = message
        self.hint = hint


def shown(value: str, limit: int = 40) -> str:
    """``value`` quoted for an error message, shortened so a pasted essay cannot flood the reply."""
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return f'"{value}"'

"""The web page's message box: typed text becomes a slash command with options, as Discord's client builds them."""

from __future__ import annotations

import pytest

from sandbox.models import User
from sandbox.typed_commands import TypedCommandError, parse_typed

IMAGINE = {"name": "imagine", "type": 1, "options": [{"name": "prompt", "type": 3, "required": True}]}
SETTINGS = {"name": "settings", "type": 1, "options": [{"name": "suffix", "type": 3}]}
ROLL = {
    "name": "roll",
    "type": 1,
    "options": [
        {"name": "sides", "type": 4, "required": True},
        {"name": "loud", "type": 5},
        {"name": "who", "type": 6},
        {"name": "mode", "type": 3, "choices": [{"name": "Fast", "value": "fast"}, {"name": "Slow", "value": "relax"}]},
    ],
}
ADMIN = {
    "name": "admin",
    "type": 1,
    "options": [{"name": "ban", "type": 1, "options": [{"name": "word", "type": 3, "required": True}]}],
}
COMMANDS = [IMAGINE, SETTINGS, ROLL, ADMIN]
ALICE = User(id=42, username="alice")


def test_the_rest_of_the_line_is_the_first_text_option() -> None:
    """`/imagine a red fox --ar 3:2` gives the whole rest, parameters included, to prompt."""
    typed = parse_typed("/imagine a red fox --ar 3:2", COMMANDS, [ALICE])
    assert (typed.name, typed.options) == ("imagine", {"prompt": "a red fox --ar 3:2"})


def test_named_options_and_types() -> None:
    """`name:value` pairs name options; integers, booleans, users and choices are converted."""
    typed = parse_typed("/roll sides: 6 loud: yes who: @alice mode: relax", COMMANDS, [ALICE])
    assert typed.options == {"sides": 6, "loud": True, "who": ALICE, "mode": "relax"}


def test_optional_options_may_be_left_out() -> None:
    """A command without required options runs bare; `name:` text with spaces is kept whole."""
    assert parse_typed("/settings", COMMANDS, []).options == {}
    assert parse_typed("/settings suffix: --ar 3:2 --s 250", COMMANDS, []).options == {"suffix": "--ar 3:2 --s 250"}


def test_subcommands_are_descended() -> None:
    """`/admin ban word` runs the subcommand "admin ban"."""
    typed = parse_typed("/admin ban spiders", COMMANDS, [])
    assert (typed.name, typed.options) == ("admin ban", {"word": "spiders"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/nope", "no command /nope"),
        ("/imagine", "needs prompt"),
        ("/roll sides: many", "not a number"),
        ("/roll sides: 2 mode: turbo", "one of fast, relax"),
        ("/roll sides: 2 who: @zed", "no user"),
        ("/admin kick", "needs one of: ban"),
    ],
)
def test_what_cannot_be_sent_is_explained(text: str, message: str) -> None:
    """Unknown commands, missing or mistyped options raise an error a person can act on."""
    with pytest.raises(TypedCommandError, match=message):
        parse_typed(text, COMMANDS, [ALICE])

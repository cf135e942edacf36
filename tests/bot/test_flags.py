"""Where parameters start, and how the prompt is split from them."""

from __future__ import annotations

import pytest

from bot.flags import flag_name, split_flags


@pytest.mark.parametrize(("word", "name"), [("--ar", "ar"), ("—ar", "ar"), ("–AR", "ar"), ("--No", "no")])
def test_double_hyphen_em_dash_and_en_dash_start_a_parameter(word: str, name: str) -> None:
    """--, — and – all start a parameter, and names are lowercased."""
    assert flag_name(word) == name


@pytest.mark.parametrize("word", ["-", "--", "—", "–", "---", "-ar", "well-known", "a--b", "::-1"])
def test_dashes_without_a_name_are_not_parameters(word: str) -> None:
    """A dash alone, a single hyphen or a hyphen inside a word is prompt text."""
    assert flag_name(word) is None


def test_prompt_ends_at_the_first_parameter() -> None:
    """Everything before the first parameter is the prompt; the rest are parameter words."""
    assert split_flags("a cat — sleeping --ar 16:9 big --tile") == (
        "a cat — sleeping",
        ["--ar", "16:9", "big", "--tile"],
    )


def test_prompt_without_parameters_has_no_parameter_words() -> None:
    """Text without a parameter is all prompt."""
    assert split_flags("  a   cat ") == ("a cat", [])

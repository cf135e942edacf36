"""Multi-prompts: ``::`` splits a prompt into weighted parts."""

from __future__ import annotations

import pytest

from bot.multiprompt import MAX_WEIGHT, split_multiprompt
from bot.prompt_error import PromptError


def _pairs(text: str) -> list[tuple[str, float]]:
    return [(part.text, part.weight) for part in split_multiprompt(text)]


def test_plain_text_is_one_part_of_weight_one() -> None:
    """Without ::, the prompt is a single part of weight 1."""
    assert _pairs("a red bird") == [("a red bird", 1.0)]


def test_separator_without_weight_splits_with_weight_one() -> None:
    """The Midjourney example hot:: dog::2 is hot at weight 1 and dog at weight 2."""
    assert _pairs("hot:: dog::2") == [("hot", 1.0), ("dog", 2.0)]


def test_decimal_and_negative_weights() -> None:
    """hot dog::1.5 food::-1 keeps the decimal and the negative weight (total 0.5 is allowed)."""
    assert _pairs("hot dog::1.5 food::-1") == [("hot dog", 1.5), ("food", -1.0)]


@pytest.mark.parametrize(("text", "weight"), [("a::.5", 0.5), ("a::2.", 2.0), ("a::0.25", 0.25), ("a::10", 10.0)])
def test_weight_spellings(text: str, weight: float) -> None:
    """Weights may be written .5, 2. or 0.25."""
    assert _pairs(text) == [("a", weight)]


def test_trailing_separator_is_ignored() -> None:
    """space ship:: is the single part "space ship" at weight 1."""
    assert _pairs("space ship::") == [("space ship", 1.0)]


def test_last_part_without_separator_gets_weight_one() -> None:
    """A part after the last :: has weight 1."""
    assert _pairs("cat::3 dog") == [("cat", 3.0), ("dog", 1.0)]


def test_weight_must_directly_follow_the_separator() -> None:
    """In hot:: 2 dogs the 2 is prompt text, not a weight."""
    assert _pairs("hot:: 2 dogs") == [("hot", 1.0), ("2 dogs", 1.0)]


def test_whitespace_is_tidied() -> None:
    """Runs of whitespace in a part become single spaces, and ends are trimmed."""
    assert _pairs("  a   red\tbird ::2   sky ") == [("a red bird", 2.0), ("sky", 1.0)]


@pytest.mark.parametrize("text", ["dog::-1", "a::1 b::-1", "a::0"])
def test_total_weight_of_zero_or_less_is_an_error(text: str) -> None:
    """Weights adding up to 0 or less are refused, as in Midjourney."""
    with pytest.raises(PromptError, match="must add up to more than 0") as info:
        split_multiprompt(text)
    assert info.value.title == "Invalid weights"


def test_weights_beyond_the_bound_are_an_error() -> None:
    """A weight past MAX_WEIGHT is refused rather than becoming a huge or infinite float."""
    assert _pairs(f"a::{MAX_WEIGHT}") == [("a", float(MAX_WEIGHT))]
    with pytest.raises(PromptError, match="out of range"):
        split_multiprompt("a::" + "9" * 400)


@pytest.mark.parametrize("text", ["", "   ", "::", "::2 ::3"])
def test_no_text_is_an_empty_prompt(text: str) -> None:
    """Separators and weights with no words are an empty prompt."""
    with pytest.raises(PromptError) as info:
        split_multiprompt(text)
    assert info.value.title == "Empty prompt"

"""Brace permutations: ``a {red, green} bird`` → one prompt per option."""

from __future__ import annotations

import pytest

from bot.permutations import MAX_DEPTH, expand_permutations
from bot.prompt_error import PromptError


def test_text_without_braces_is_unchanged() -> None:
    """A prompt with no braces expands to itself, exactly."""
    assert expand_permutations("a red bird, flying --ar 3:2", 40) == ["a red bird, flying --ar 3:2"]


def test_one_group_gives_one_prompt_per_option_in_order() -> None:
    """The Midjourney example a {red, green, yellow} bird expands to three prompts, in the written order."""
    assert [" ".join(t.split()) for t in expand_permutations("a {red, green, yellow} bird", 40)] == [
        "a red bird",
        "a green bird",
        "a yellow bird",
    ]


def test_two_groups_give_every_combination_leftmost_slowest() -> None:
    """Several groups multiply, and the leftmost group varies slowest."""
    assert expand_permutations("{a,b}-{1,2}", 40) == ["a-1", "a-2", "b-1", "b-2"]


def test_nested_groups_expand_inside_their_option() -> None:
    """{red, {light, dark} green} gives red, light green and dark green."""
    result = [" ".join(t.split()) for t in expand_permutations("a {red, {light, dark} green} bird", 40)]
    assert result == ["a red bird", "a light green bird", "a dark green bird"]


def test_escaped_comma_inside_braces_is_a_literal_comma() -> None:
    """Inside braces \\, is a comma that does not separate options."""
    assert expand_permutations(r"{salt\, pepper,sugar}", 40) == ["salt, pepper", "sugar"]


def test_backslash_comma_outside_braces_is_left_as_written() -> None:
    """Outside braces the escape has no meaning, so the text is not altered."""
    assert expand_permutations(r"salt\, pepper", 40) == [r"salt\, pepper"]


def test_empty_option_is_allowed() -> None:
    """{,red} offers the empty text as an option."""
    assert expand_permutations("a {,red }bird", 40) == ["a bird", "a red bird"]


def test_unclosed_brace_is_an_error() -> None:
    """An opening brace that is never closed is refused."""
    with pytest.raises(PromptError, match="never closed") as info:
        expand_permutations("a {red, green bird", 40)
    assert info.value.title == "Invalid permutation"


def test_stray_closing_brace_is_an_error_naming_its_position() -> None:
    """A closing brace without an opening one is refused, with its position."""
    with pytest.raises(PromptError, match="character 6") as info:
        expand_permutations("a red} bird", 40)
    assert info.value.title == "Invalid permutation"


def test_exactly_the_limit_is_allowed() -> None:
    """A prompt expanding to exactly the limit is accepted."""
    assert len(expand_permutations("{a,b,c,d,e}{1,2,3,4,5,6,7,8}", 40)) == 40


def test_more_than_the_limit_is_an_error_with_the_count() -> None:
    """One expansion over the limit is refused, saying how many there would be."""
    with pytest.raises(PromptError, match="expands to 41 jobs; at most 40") as info:
        expand_permutations("{" + ",".join(map(str, range(41))) + "}", 40)
    assert info.value.title == "Too many permutations"


def test_huge_expansions_are_refused_without_being_built() -> None:
    """2**100 combinations are counted and refused, not generated."""
    with pytest.raises(PromptError, match="1267650600228229401496703205376 jobs"):
        expand_permutations("{a,b}" * 100, 40)


def test_nesting_deeper_than_the_limit_is_an_error() -> None:
    """Braces nested past MAX_DEPTH are refused; MAX_DEPTH itself is fine."""
    assert expand_permutations("{" * MAX_DEPTH + "x" + "}" * MAX_DEPTH, 40) == ["x"]
    with pytest.raises(PromptError, match="nested more than"):
        expand_permutations("{" * (MAX_DEPTH + 1) + "x" + "}" * (MAX_DEPTH + 1), 40)

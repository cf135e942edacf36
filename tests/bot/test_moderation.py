"""The banned-word filter."""

from __future__ import annotations

from bot.moderation import BannedWords


def test_whole_words_case_insensitive() -> None:
    """A banned word matches as a whole word in any case, not inside other words."""
    banned = BannedWords(["gore", "blood bath"])
    assert banned.find("a GORE scene") == "GORE"
    assert banned.find("a blood bath at dawn") == "blood bath"
    assert banned.find("gorgeous gorey goreless") is None
    assert banned.find("a red fox") is None


def test_empty_list_allows_everything() -> None:
    """Without a configured list nothing is banned."""
    assert BannedWords([]).find("anything at all") is None
    assert BannedWords(["  "]).find("anything") is None


def test_regex_characters_are_literal() -> None:
    """Words are matched literally, even with regex metacharacters."""
    banned = BannedWords(["c++"])
    assert banned.find("learn c++ today") == "c++"
    assert banned.find("learn c today") is None

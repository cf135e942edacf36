"""Applying /settings defaults to a prompt: the prompt's own parameters always win."""

from __future__ import annotations

from bot.prompt import ParserOptions, parse_prompt
from bot.user_settings import UserSettings


def test_defaults_added_when_absent() -> None:
    """Stylize and aspect defaults are added to a prompt that does not set them."""
    text = UserSettings(stylize=250, aspect="16:9").apply("a red fox")
    fields = parse_prompt(text, ParserOptions())[0]
    assert (fields.stylize, fields.aspect) == (250, "16:9")


def test_prompt_flags_win() -> None:
    """A parameter in the prompt (in any spelling) beats the default."""
    text = UserSettings(stylize=250, aspect="16:9").apply("a red fox --s 50 --aspect 2:3")
    fields = parse_prompt(text, ParserOptions())[0]
    assert (fields.stylize, fields.aspect) == (50, "2:3")


def test_suffix_words_and_flags() -> None:
    """The suffix's words join the prompt, its parameters join the parameters, and the prompt still wins."""
    prefs = UserSettings(suffix="cinematic --chaos 10 --ar 3:2", aspect="1:1")
    text = prefs.apply("a red fox --ar 9:16")
    fields = parse_prompt(text, ParserOptions())[0]
    assert fields.text == "a red fox cinematic"
    assert (fields.chaos, fields.aspect) == (10, "9:16")


def test_no_settings_is_identity() -> None:
    """Default settings leave the prompt as typed."""
    assert UserSettings().apply("a red fox --ar 3:2") == "a red fox --ar 3:2"


def test_suffix_beats_stylize_default() -> None:
    """A suffix parameter wins over the stylize default."""
    fields = parse_prompt(UserSettings(suffix="--s 750", stylize=0).apply("a fox"), ParserOptions())[0]
    assert fields.stylize == 750

"""Each parameter of the prompt language, through the parser: its values, range and errors."""

from __future__ import annotations

import pytest

from bot.prompt import ParserOptions, parse_prompt
from tests.bot.prompt_helpers import ALIASES, error, one
from worker.spec import MAX_SEED, Mode

# --ar / --aspect


def test_doc_example_aspect_ratio() -> None:
    """vibrant tulip fields --ar 3:2 gives a 3:2 job at the closest SD1 size, 640×448."""
    job = one("vibrant tulip fields --ar 3:2")
    assert (job.aspect, job.width, job.height) == ("3:2", 640, 448)
    assert job.prompts[0].text == "vibrant tulip fields"


def test_aspect_is_reduced_and_aspect_is_an_alias() -> None:
    """--aspect 32:18 is recorded as 16:9."""
    job = one("a wide street --aspect 32:18")
    assert (job.aspect, job.width, job.height) == ("16:9", 704, 384)


@pytest.mark.parametrize(("value", "size"), [("1:4", (256, 1024)), ("4:1", (1024, 256)), ("9:16", (384, 704))])
def test_aspect_limits_are_inclusive(value: str, size: tuple[int, int]) -> None:
    """1:4 and 4:1 are the most extreme ratios accepted."""
    job = one(f"a tower --ar {value}")
    assert (job.width, job.height) == size


def test_aspect_size_follows_the_chosen_model_base() -> None:
    """The size comes from the selected model's base resolution: SDXL buckets for a 1024 alias."""
    assert (one("a cat --ar 16:9 --v 6", ALIASES).width, one("a cat --ar 16:9 --v 6", ALIASES).height) == (1344, 768)
    job = one("a cat", ParserOptions(base=768))
    assert (job.width, job.height) == (768, 768)


@pytest.mark.parametrize("value", ["0:1", "16:0", "0:0", "16x9", "-1:2", "1.5:1", "²:1", "16:9:1", ":9", "١٦:٩"])
def test_malformed_aspect_is_invalid(value: str) -> None:
    """Anything but two positive ASCII whole numbers is refused with the documented wording."""
    err = error(f"a cat --ar {value}")
    assert err.title == "Invalid parameter"
    assert err.message == (
        f'Invalid value for --ar: "{value}" (both sides must be positive whole numbers, e.g. --ar 16:9)'
    )


@pytest.mark.parametrize("value", ["5:1", "1:5", "100:1", "99999999999:1"])
def test_aspect_outside_one_to_four_is_invalid(value: str) -> None:
    """Ratios beyond 1:4 or 4:1 are refused, saying the allowed range."""
    assert error(f"a cat --ar {value}").message == (
        f'Invalid value for --ar: "{value}" (the ratio must be between 1:4 and 4:1)'
    )


# Whole-number parameters


@pytest.mark.parametrize(
    ("flag", "field", "low", "high"),
    [
        ("--stylize", "stylize", 0, 1000),
        ("--s", "stylize", 0, 1000),
        ("--chaos", "chaos", 0, 100),
        ("--c", "chaos", 0, 100),
        ("--seed", "seed", 0, MAX_SEED),
        ("--stop", "stop", 10, 100),
        ("--repeat", "repeat", 2, 4),
        ("--r", "repeat", 2, 4),
    ],
)
def test_whole_number_parameters_accept_their_range_and_nothing_else(
    flag: str, field: str, low: int, high: int
) -> None:
    """Both ends of the range parse; one past either end, and non-numbers, are refused with the range."""
    assert getattr(one(f"a cat {flag} {low}"), field) == low
    assert getattr(one(f"a cat {flag} {high}"), field) == high
    for bad in (str(low - 1), str(high + 1), "abc", "²", "1e2", "nan", "inf", "5.0", "٣", "9" * 30):
        err = error(f"a cat {flag} {bad}")
        assert err.title == "Invalid parameter"
        assert err.message.startswith(f"Invalid value for {flag}: ")
        assert err.message.endswith(f"(must be a whole number from {low} to {high})")


def test_doc_example_chaos_permutation() -> None:
    """a bird --chaos {20, 80} gives two jobs with chaos 20 and 80."""
    assert [job.chaos for job in parse_prompt("a bird --chaos {20, 80}")] == [20, 80]


def test_seed_is_none_unless_given() -> None:
    """Without --seed the seed is left for the bot to draw and record."""
    assert one("a cat").seed is None
    assert one("a cat --seed 0").seed == 0


# --no


def test_doc_example_no() -> None:
    """still life gouache painting --no fruit has fruit as the negative prompt."""
    job = one("still life gouache painting --no fruit")
    assert (job.prompts[0].text, job.negative) == ("still life gouache painting", "fruit")


def test_no_takes_comma_separated_words_up_to_the_next_parameter() -> None:
    """--no takes every word until the next parameter, tidying the commas."""
    job = one("a garden --no red  apples ,, trees, --ar 16:9")
    assert (job.negative, job.aspect) == ("red apples, trees", "16:9")


@pytest.mark.parametrize("text", ["a garden --no", "a garden --no --tile", "a garden --no , ,"])
def test_no_without_terms_is_a_missing_value(text: str) -> None:
    """--no with no terms is a missing value."""
    assert error(text).message == "Missing value for --no (e.g. --no fruit, trees)"


# --quality


@pytest.mark.parametrize(
    ("value", "quality"), [(".25", 0.25), ("0.25", 0.25), (".5", 0.5), ("0.5", 0.5), ("1", 1.0), ("2", 2.0)]
)
def test_quality_values(value: str, quality: float) -> None:
    """--quality takes .25, .5, 1 and 2, however the decimals are written."""
    assert one(f"a cat --quality {value}").quality == quality
    assert one(f"a cat --q {value}").quality == quality


@pytest.mark.parametrize("value", ["0.75", "3", "0", "nan", "inf", "high", "½"])
def test_other_quality_values_are_invalid(value: str) -> None:
    """Any other --quality is refused, listing the allowed values."""
    assert error(f"a cat --q {value}").message == f'Invalid value for --q: "{value}" (must be one of .25, .5, 1 or 2)'


# Switches: --tile, --style raw, --fast, --relax


def test_tile_switch() -> None:
    """--tile turns tiling on."""
    assert one("wallpaper pattern --tile").tile is True
    assert one("wallpaper pattern").tile is False


def test_style_raw_turns_off_house_style() -> None:
    """--style raw (any case) sets raw; other styles are refused."""
    assert one("a cat --style RAW").raw is True
    assert error("a cat --style cute").message == 'Invalid value for --style: "cute" (only --style raw is supported)'
    assert error("a cat --style").message == "Missing value for --style (e.g. --style raw)"


def test_fast_and_relax_choose_the_queue_mode() -> None:
    """--fast and --relax set the mode; without them it is left to /settings."""
    assert one("a cat --fast").mode is Mode.FAST
    assert one("a cat --relax").mode is Mode.RELAX
    assert one("a cat").mode is None


def test_fast_with_relax_is_a_conflict() -> None:
    """--fast and --relax together are refused."""
    err = error("a cat --relax --fast")
    assert (err.title, err.message) == (
        "Conflicting parameters",
        "--fast and --relax can't be used together; choose one.",
    )


# Model aliases


@pytest.mark.parametrize(
    ("text", "model"),
    [("--v 6", "6"), ("--version 6", "6"), ("--niji", "niji"), ("--NIJI", "niji"), ("--niji 6", "Niji 6")],
)
def test_model_aliases(text: str, model: str) -> None:
    """--v N asks for alias N, --niji for "niji", --niji N for "niji N", matched case-insensitively."""
    assert one(f"a cat {text}", ALIASES).model == model


def test_niji_takes_only_a_version_number() -> None:
    """A word after --niji that is not a version number is a stray word, not part of the alias."""
    assert error("a cat --niji cute", ALIASES).message == "Unrecognized parameter(s): cute"


def test_unknown_alias_lists_the_configured_ones() -> None:
    """An unknown alias is refused, listing the configured aliases."""
    err = error("a cat --v 7", ALIASES)
    assert err.title == "Unknown model"
    assert err.message == '--v 7 asks for model "7"; the configured ones are: "6", "Niji 6", "niji".'


def test_alias_without_configuration_says_none_are_configured() -> None:
    """With no aliases configured, --v and --niji are refused saying so."""
    assert "no model aliases are configured" in error("a cat --v 6").message
    assert "no model aliases are configured" in error("a cat --niji").message


def test_v_with_niji_is_a_conflict() -> None:
    """--v and --niji both choose a model, so they cannot be combined."""
    assert error("a cat --v 6 --niji", ALIASES).title == "Conflicting parameters"

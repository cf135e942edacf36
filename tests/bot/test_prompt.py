"""The /imagine prompt language, end to end: text → PromptFields."""

from __future__ import annotations

import json

import pytest

from bot import messages
from bot.flags import PARAMETER_HINT
from bot.prompt import ParserOptions, parse_prompt
from tests.bot.prompt_helpers import ALIASES, error, one
from worker.spec import PromptFields


def test_plain_prompt_gets_every_default() -> None:
    """A prompt without parameters gets the documented defaults and a 512×512 SD1 size."""
    job = one("a red bird")
    assert job.model_dump(mode="json") == {
        "prompts": [{"text": "a red bird", "weight": 1.0}],
        "negative": None,
        "aspect": "1:1",
        "width": 512,
        "height": 512,
        "stylize": 100,
        "chaos": 0,
        "seed": None,
        "quality": 1.0,
        "stop": 100,
        "tile": False,
        "repeat": 1,
        "raw": False,
        "mode": None,
        "model": None,
    }


def test_result_round_trips_through_json() -> None:
    """Every field of a fully specified prompt survives JSON and back."""
    job = one(
        "a cat::2 dog --ar 16:9 --s 50 --c 5 --seed 7 --q 2 --stop 90 --tile --r 2 --style raw --relax --v 6", ALIASES
    )
    assert PromptFields.model_validate(json.loads(json.dumps(job.model_dump(mode="json")))) == job


# Parameter syntax


def test_dashes_and_case_of_parameter_names() -> None:
    """Em dash, en dash and any case all name the same parameter."""
    job = one("a cat —AR 16:9 –S 250 --Chaos 10")
    assert (job.aspect, job.stylize, job.chaos) == ("16:9", 250, 10)


def test_unknown_parameters_and_stray_words_are_listed_together() -> None:
    """The documented wording lists unknown parameters and stray words, in order."""
    err = error("a cat --foo 5")
    assert (err.title, err.message) == ("Invalid parameter", "Unrecognized parameter(s): --foo, 5")


def test_words_after_a_parameter_are_not_prompt_text() -> None:
    """Parameters go at the end: words after a complete parameter are unrecognized."""
    assert error("a cat --ar 16:9 sitting on a mat").message == "Unrecognized parameter(s): sitting, on, a, mat"
    assert error("a cat --tile 5").message == "Unrecognized parameter(s): 5"


def test_lone_dash_is_prompt_text() -> None:
    """A dash alone between words is prompt text, not a parameter."""
    assert one("sunrise — sunset --ar 2:1").prompts[0].text == "sunrise — sunset"


@pytest.mark.parametrize("text", ["a cat --ar 1:1 --aspect 2:3", "a cat --s 1 --stylize 2", "a cat --tile --tile"])
def test_duplicated_parameters_are_refused(text: str) -> None:
    """A parameter given twice, under either of its names, is refused."""
    err = error(text)
    assert err.title == "Duplicate parameter"
    assert "was given more than once" in err.message


@pytest.mark.parametrize(
    ("flag", "example"),
    [("--ar", "--ar 16:9"), ("--s", "--stylize 250"), ("--chaos", "--chaos 50"), ("--seed", "--seed 1234"),
     ("--q", "--quality .5"), ("--stop", "--stop 80"), ("--r", "--repeat 2"), ("--v", "--v 6")],
)  # fmt: skip
def test_missing_values_are_named(flag: str, example: str) -> None:
    """A parameter without its value, at the end or before another parameter, says so with an example."""
    for text in (f"a cat {flag}", f"a cat {flag} --tile"):
        err = error(text)
        assert (err.title, err.message) == ("Invalid parameter", f"Missing value for {flag} (e.g. {example})")


# Prompt-level errors


@pytest.mark.parametrize("text", ["", "   ", "--ar 16:9", "—tile", "::2", "{,}"])
def test_empty_prompt(text: str) -> None:
    """No words to draw, including parameters only, is an empty prompt."""
    assert error(text).title == "Empty prompt"


def test_prompt_length_limit() -> None:
    """max_length characters are accepted, one more is refused with both numbers."""
    options = ParserOptions(max_length=20)
    assert one("a" * 20, options).prompts[0].text == "a" * 20
    err = error("a" * 21, options)
    assert (err.title, err.message) == ("Prompt too long", "Your prompt is 21 characters long; the limit is 20.")


@pytest.mark.parametrize("text", ["https://x.test/cat.png a cat", "HTTP://x.test/a.png", "<https://x.test/a.png> cat"])
def test_image_prompts_are_refused(text: str) -> None:
    """A link at the start of the prompt is an image prompt, which is not supported yet."""
    err = error(text)
    assert err.title == "Image prompts not supported"
    assert "not supported yet" in err.message


@pytest.mark.parametrize(
    "text", ["a cat --zz", "a cat --ar 3", "a cat --seed", "a cat --s 1 --stylize 2", "a cat --fast --relax"]
)
def test_parameter_errors_say_where_parameters_go(text: str) -> None:
    """Every parameter error (unknown, invalid, missing, repeated, conflicting) carries the parameter hint."""
    assert error(text).hint == PARAMETER_HINT


@pytest.mark.parametrize(
    "text", ["https://x.test/cat.png a cat", "a {cat", "--tile", "hot:: dog::-1", "a cat::99999", "{a,b,c} {d,e} " * 3]
)
def test_other_errors_carry_no_parameter_hint(text: str) -> None:
    """An image link, braces, an empty prompt, weights or too many permutations are not told about parameters."""
    assert error(text, ParserOptions(max_permutations=10)).hint != PARAMETER_HINT


def test_an_image_link_refusal_has_no_hint() -> None:
    """The bot's answer to an image link says only that image prompts are not supported: no Hint field."""
    err = error("https://x.test/cat.png a cat")
    embed = messages.invalid_parameter(err.message, err.hint, err.title)
    assert (embed.title, embed.fields) == ("Image prompts not supported", [])


def test_link_later_in_the_prompt_is_text() -> None:
    """A link after other words is ordinary prompt text."""
    assert one("a poster of https://x.test").prompts[0].text == "a poster of https://x.test"


# Permutations and multi-prompts through the parser


def test_doc_example_permutation() -> None:
    """a {red, green, yellow} bird gives three jobs, in order."""
    assert [job.prompts[0].text for job in parse_prompt("a {red, green, yellow} bird")] == [
        "a red bird",
        "a green bird",
        "a yellow bird",
    ]


def test_permutations_reach_parameters() -> None:
    """--ar {1:1, 16:9} gives one job per ratio, each sized for its ratio."""
    jobs = parse_prompt("a {red, green} bird --ar {1:1, 16:9}")
    assert [(j.prompts[0].text, j.aspect, j.width) for j in jobs] == [
        ("a red bird", "1:1", 512),
        ("a red bird", "16:9", 704),
        ("a green bird", "1:1", 512),
        ("a green bird", "16:9", 704),
    ]


def test_permutation_limit_comes_from_options() -> None:
    """max_permutations bounds the number of jobs."""
    assert len(parse_prompt("{a,b,c} cat", ParserOptions(max_permutations=3))) == 3
    assert error("{a,b,c} cat", ParserOptions(max_permutations=2)).title == "Too many permutations"


def test_an_invalid_permutation_fails_the_whole_prompt() -> None:
    """If one expansion is invalid, no job is returned."""
    assert error("a cat --chaos {20, 200}").message.startswith('Invalid value for --chaos: "200"')


def test_multi_prompt_through_the_parser() -> None:
    """hot:: dog::2 --ar 2:1 keeps the weights and the parameter."""
    job = one("hot:: dog::2 --ar 2:1")
    assert [(p.text, p.weight) for p in job.prompts] == [("hot", 1.0), ("dog", 2.0)]
    assert job.aspect == "2:1"


def test_multi_prompt_with_total_weight_zero_is_refused() -> None:
    """Weights adding up to 0 are refused by the parser."""
    assert error("hot dog::1 food::-1").title == "Invalid weights"


# Options


def test_options_reject_a_base_that_is_not_a_multiple_of_the_step() -> None:
    """A misconfigured model size is a ValueError when the options are built, not at parse time."""
    with pytest.raises(ValueError, match="multiple"):
        ParserOptions(base=500)
    with pytest.raises(ValueError, match="multiple"):
        ParserOptions(aliases={"bad": (1000, 64)})


def test_options_copy_the_aliases() -> None:
    """Changing the caller's dict afterwards does not change frozen options."""
    aliases = {"6": (1024, 64)}
    options = ParserOptions(aliases=aliases)
    aliases["7"] = (512, 64)
    assert list(options.aliases) == ["6"]


def test_aliases_differing_only_in_case_are_rejected() -> None:
    """Aliases match case-insensitively, so two that differ only in case are a configuration error."""
    with pytest.raises(ValueError, match="case"):
        ParserOptions(aliases={"niji": (512, 64), "NIJI": (768, 64)})


def test_lookalike_letters_do_not_name_a_parameter() -> None:
    """Names are matched as ASCII: long s (casefolds to s) and fullwidth ar (NFKC gives ar) are unrecognized."""
    assert error("a cat --\u017f 5").message == "Unrecognized parameter(s): --\u017f, 5"
    assert error("a cat --\uff41\uff52 16:9").message == "Unrecognized parameter(s): --\uff41\uff52, 16:9"

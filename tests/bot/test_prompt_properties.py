"""Properties of the prompt parser: any text either parses or raises PromptError, and nothing else."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.prompt import ParserOptions, PromptError, parse_prompt
from worker.spec import PromptFields

OPTIONS = ParserOptions(aliases={"6": (1024, 64), "niji": (768, 64), "niji 6": (1024, 64)})

FRAGMENTS = [
    "a", "red", "bird", "hot", "dog", "::", "::2", "::-1", "::.5", "::1.5", "::-0", "::" + "9" * 400, ":", "{", "}",
    ",", "\\,", "\\", "{red, green}", "{a, {b, c} d}", "--", "—", "–", "-", "--ar", "--aspect", "—ar", "–AR",
    "16:9", "1:1", "0:1", "5:1", "32:18", "²:1", "--s", "--stylize", "1000", "1001", "--c", "--chaos", "--seed",
    "4294967295", "4294967296", "-1", "--no", "fruit,", "--q", "--quality", ".25", ".5", "2", "0.75", "--stop",
    "10", "--tile", "--r", "--repeat", "3", "--style", "raw", "RAW", "--fast", "--relax", "--v", "--version",
    "6", "7", "--niji", "--foo", "https://x.test/a.png", "<http://x>", "nan", "inf", "1e309", "²", "٣", "Ⅻ",
    "9" * 5000, "{" * 600 + "x" + "}" * 600, "\u00a0", "\n", "\t", "\u2028", "ſ", "K", "🐦",
]  # fmt: skip

prompt_like = st.lists(st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(["", " ", "  "])), max_size=30).map(
    lambda parts: "".join(fragment + gap for fragment, gap in parts)
)


def _check(text: str) -> None:
    try:
        jobs = parse_prompt(text, OPTIONS)
    except PromptError as exc:
        assert exc.title and exc.message  # every refusal has something to show the user
        return
    assert 1 <= len(jobs) <= OPTIONS.max_permutations
    for job in jobs:
        assert isinstance(job, PromptFields)
        data = job.model_dump(mode="json")
        json.dumps(data, allow_nan=False)  # strictly JSON: no NaN or infinity can have slipped in
        assert all(math.isfinite(p["weight"]) for p in data["prompts"])
        assert sum(p["weight"] for p in data["prompts"]) > 0
        assert all(p["text"] for p in data["prompts"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
@example("{" * 600 + "x" + "}" * 600)  # deep nesting: must be refused, not exhaust the recursion limit
@example("a::" + "9" * 400)  # would be an infinite float weight
def test_arbitrary_text_parses_or_raises_prompt_error(text: str) -> None:
    """Any unicode text either parses to valid, JSON-safe jobs or raises PromptError."""
    _check(text)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt_like)
def test_prompt_like_text_parses_or_raises_prompt_error(text: str) -> None:
    """Text built from prompt fragments, flags and awkward numbers parses or raises PromptError."""
    _check(text)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_aspect_accepted_exactly_within_one_to_four(width: int, height: int) -> None:
    """--ar W:H parses, reduced, exactly when both sides are positive and the ratio is within 1:4..4:1."""
    valid = width > 0 and height > 0 and width <= 4 * height and height <= 4 * width
    try:
        job = parse_prompt(f"a cat --ar {width}:{height}")[0]
    except PromptError:
        assert not valid
        return
    assert valid
    g = math.gcd(width, height)
    assert job.aspect == f"{width // g}:{height // g}"


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_stylize_accepted_exactly_within_its_range(value: int) -> None:
    """--stylize N parses to N exactly when 0 <= N <= 1000."""
    try:
        job = parse_prompt(f"a cat --stylize {value}")[0]
    except PromptError:
        assert not 0 <= value <= 1000
        return
    assert job.stylize == value

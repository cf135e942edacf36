"""Message contents and embeds: Midjourney's shapes, escaped prompts, and no mass pings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import messages
from worker.spec import JobKind, Mode


def test_waiting_and_progress_lines() -> None:
    """The first response and progress edits read as Midjourney's do."""
    head = messages.headline(JobKind.IMAGINE, "a red fox --ar 3:2", 42)
    assert messages.waiting(head) == "**a red fox --ar 3:2** - <@42> (Waiting to start)"
    assert messages.progress(head, 37, Mode.FAST) == "**a red fox --ar 3:2** - <@42> (37%) (fast)"


def test_follow_up_headlines() -> None:
    """Upscales and variations name the image they start from."""
    assert messages.headline(JobKind.UPSCALE, "fox", 1, 2).startswith("Upscaling image #2 with **fox**")
    assert messages.headline(JobKind.VARIATION, "fox", 1, 3).startswith("Making variations for image #3 with")


def test_prompt_markdown_is_escaped() -> None:
    """A prompt cannot break out of the bold with its own markdown."""
    head = messages.headline(JobKind.IMAGINE, "**x** _y_", 1)
    assert head.startswith(r"**\*\*x\*\* \_y\_**")


def test_long_prompt_is_shortened() -> None:
    """A long prompt is cut so the message stays under Discord's 2000 characters."""
    assert len(messages.result(JobKind.IMAGINE, "word " * 600, 1, Mode.FAST)) < 2000


# The longest user id Discord issues (snowflakes are 64-bit), so mentions are at their longest.
BIG_USER = 2**63 - 1


def _every_message(prompt: str) -> list[str]:
    out = []
    for kind in JobKind:
        head = messages.headline(kind, prompt, BIG_USER, 4)
        out += [messages.waiting(head), messages.progress(head, 100, Mode.RELAX), messages.cancelled(head)]
        out += [f"{head} (Failed)", messages.result(kind, prompt, BIG_USER, Mode.RELAX, 4)]
    return out


@pytest.mark.parametrize("prompt", ["*" * 1500, "_" * 1700, "\\" * 1500, "🦊*" * 900, "a" * 6000])
def test_escaping_never_pushes_a_message_past_discord_limit(prompt: str) -> None:
    """1,500 `*` escape to 3,000 characters: every message about the job still fits Discord's 2,000 (UTF-16)."""
    for text in _every_message(prompt):
        assert messages.discord_length(text) <= messages.MAX_CONTENT, text[:80]
    assert messages.shown_prompt(prompt).endswith(messages.ELLIPSIS)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("*_~|`>\\a b🦊<@#:"), max_size=2500))
def test_any_prompt_fits_every_message(prompt: str) -> None:
    """Whatever the prompt, every message the bot builds for it stays within Discord's limit."""
    assert all(messages.discord_length(text) <= messages.MAX_CONTENT for text in _every_message(prompt))


def test_short_prompts_are_shown_whole() -> None:
    """A prompt that fits is only escaped, never cut."""
    assert messages.shown_prompt("a *bold* fox") == r"a \*bold\* fox"
    assert messages.shown_prompt("x" * 60, limit=60) == "x" * 60
    assert messages.discord_length(messages.shown_prompt("*" * 61, limit=60)) <= 60


def test_mentions_never_ping_everyone_or_roles() -> None:
    """allowed_mentions pings at most the one user a result is for."""
    for allowed in (messages.mentions(), messages.mentions(7)):
        data = allowed.to_dict()
        assert "everyone" not in data["parse"] and "roles" not in data["parse"]
    assert messages.mentions(7).to_dict()["users"] == [7]
    assert messages.mentions().to_dict().get("users", []) == []


def test_error_embeds() -> None:
    """Error embeds carry their Midjourney titles, hints and job ids."""
    assert messages.invalid_parameter("Unrecognized parameter(s): --zz", "hint!").title == "Invalid parameter"
    assert messages.invalid_parameter("m", "h").fields[0].value == "h"
    assert messages.invalid_parameter("m", None).fields == []
    assert messages.internal_error("abc").footer.text == "Job abc"
    assert messages.banned_prompt("gore").title == "Banned prompt detected"
    assert messages.queue_full("full").title == "Queue full"
    assert "It is 2nd in your line." in messages.job_queued(1).description
    assert messages.job_expired().title == "Job expired"

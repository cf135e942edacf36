"""A bot killed between Discord accepting a result and recording the delivery posts it once (issue 14, defect 1).

The kill comes from the emulator itself, while it serves the result's POST: Discord has the message, the bot
never hears so. The restarted bot gets the ``done`` event back from its consumer group and must not post again:
Discord's nonce dedupe covers a restart within minutes, a search of the channel covers a later one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot import keys
from tests.e2e.stack import Stack
from tests.faults.bot_stack import KillBotOn, results

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with Stack() as s:
        yield s


def _crash_after_result(stack: Stack, prompt: str) -> tuple[str, int]:
    """/imagine, kill the bot as its result is stored; returns the job id and the progress message id."""

    def result_posted(name: str, data: dict[str, Any]) -> bool:
        return name == "MESSAGE_CREATE" and prompt in data["content"] and bool(data.get("attachments"))

    kill = KillBotOn(stack, result_posted)
    progress = stack.slash("imagine", stack.alice, prompt=prompt).original
    job = progress.buttons[0]["custom_id"].split(":")[2]
    stack.wait(lambda: kill.fired, 60, "the result to be posted (and the bot killed)")
    stack.bot.stop()
    assert not stack.redis.exists(keys.delivered(job)), "the delivery was recorded before the kill"
    return job, progress.id


def _restart_and_settle(stack: Stack, progress_id: int) -> None:
    stack.start_bot()
    gone = lambda: all(m.id != progress_id for m in stack.discord.messages(stack.channel))  # noqa: E731
    stack.wait(gone, 30, "the restarted bot to finish the delivery (the progress message deleted)")


def test_restart_within_minutes_does_not_post_again(stack: Stack) -> None:
    """Restarted at once, the bot finds its post already made: one result, the delivery recorded."""
    job, progress_id = _crash_after_result(stack, "a crash landing")
    _restart_and_settle(stack, progress_id)
    assert len(stack.run(_results(stack, "a crash landing"))) == 1
    assert stack.redis.exists(keys.delivered(job))
    assert not stack.discord.pop_violations()


def test_restart_after_the_nonce_window_does_not_post_again(stack: Stack) -> None:
    """Restarted 20 minutes later (past Discord's nonce dedupe), the bot finds the result in the channel."""
    job, progress_id = _crash_after_result(stack, "a late landing")
    stack.discord.advance_clock(20 * 60)
    _restart_and_settle(stack, progress_id)
    assert len(stack.run(_results(stack, "a late landing"))) == 1
    assert stack.redis.exists(keys.delivered(job))
    assert not stack.discord.pop_violations()


async def _results(stack: Stack, prompt: str) -> list:
    return results(stack, prompt)

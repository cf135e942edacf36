"""The bot after a Redis restart and during an outage (issue 14, bot defect 3).

Redis (append-only, same port and data) is restarted between commands: the bot's pooled connections are then
stale, and the next /imagine must still succeed. With Redis down, /imagine is answered promptly that the queue
is unavailable, never "Internal error".
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    limits = {"IMAGINE_CONCURRENT_LIMIT": "3", "IMAGINE_QUEUED_LIMIT": "20", "IMAGINE_QUEUE_CAP": "100"}
    with Stack(persist=True, redis_dir=tmp_path_factory.mktemp("redis"), worker=False, queue_env=limits) as s:
        yield s


def _told(stack: Stack, prompt: str) -> str:
    """/imagine as alice; what she was told (the job's message, or an error embed's title)."""
    message = stack.original(stack.slash("imagine", stack.alice, prompt=prompt))
    if message.content.endswith("(Waiting to start)"):
        return "accepted"
    return message.embeds[0]["title"] if message.embeds else message.content


def test_the_first_command_after_each_restart_succeeds(stack: Stack) -> None:
    """Five Redis restarts, each followed by /imagine: all five are accepted."""
    told = []
    for n in range(5):
        assert _told(stack, f"before restart {n}") == "accepted"
        stack.restart_redis()
        told.append(_told(stack, f"after restart {n}"))
    assert told == ["accepted"] * 5, (told, stack.bot.output()[-3000:])
    assert not stack.discord.pop_violations()


def test_redis_down_is_answered_queue_unavailable(stack: Stack) -> None:
    """With Redis stopped, /imagine is answered within Discord's 3 s (or as a follow-up) that the queue is away."""
    stack.stop_redis()
    try:
        started = time.monotonic()
        told = _told(stack, "while redis is down")
        seconds = time.monotonic() - started
    finally:
        stack.start_redis()
    assert told == "Queue unavailable", stack.bot.output()[-3000:]
    assert seconds < 15
    assert _told(stack, "once redis is back") == "accepted"
    assert not stack.discord.pop_violations()

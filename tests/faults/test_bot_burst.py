"""A burst of /imagine waits for Redis connections instead of failing (issue 14, bot defect 2).

400 simultaneous commands (20 users × 20) through the emulator to the real bot process: every one is answered in
Discord's time, none with "Internal error", and each user gets exactly their limit's worth of jobs.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from sandbox.models import Interaction, Message, User
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

USERS, EACH = 20, 20
CONCURRENT, QUEUED = 3, 10


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    limits = {"IMAGINE_CONCURRENT_LIMIT": str(CONCURRENT), "IMAGINE_QUEUED_LIMIT": str(QUEUED)}
    with Stack(worker=False, queue_env={**limits, "IMAGINE_QUEUE_CAP": "1000"}) as s:
        yield s


def _answer(message: Message) -> str:
    """What the user was told: the job's message, or an error embed's title."""
    if message.content.endswith("(Waiting to start)"):
        return "accepted"
    return message.embeds[0]["title"] if message.embeds else message.content


def test_a_burst_of_400_commands_is_answered_within_the_limits(stack: Stack) -> None:
    """400 /imagine at once: 0 Internal error; each user 13 accepted (3 + 10) and Queue full for the other 7."""
    users = [stack.discord.add_user(f"user{n}") for n in range(USERS)]
    for user in users:
        stack.discord.world.add_member(stack.guild, user)

    async def burst() -> list[tuple[User, Interaction]]:
        sent = []
        for n in range(EACH):
            for user in users:
                prompt = f"burst {n} of {user.username}"
                sent.append(
                    (
                        user,
                        await stack.discord.slash(
                            "imagine", user=user, channel=stack.channel, wait=False, prompt=prompt
                        ),
                    )
                )
        return sent

    started = time.monotonic()
    sent = stack.run(burst())

    def all_answered() -> bool:
        return all(i.original is not None and not i.original.loading for _, i in sent)

    stack.wait(all_answered, 90, "every command answered")
    seconds = time.monotonic() - started
    told = Counter(_answer(i.original) for _, i in sent)
    assert told["Internal error"] == 0, (told, stack.bot.output()[-3000:])
    per_user = {u.username: Counter(_answer(i.original) for who, i in sent if who is u) for u in users}
    expected = Counter({"accepted": CONCURRENT + QUEUED, "Queue full": EACH - CONCURRENT - QUEUED})
    assert all(c == expected for c in per_user.values()), per_user
    stack.discord.check_unanswered()
    assert not stack.discord.pop_violations(), f"{seconds:.1f}s"

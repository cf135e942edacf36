"""Jobs across a Redis restart, with and without persistence (issue 14, bot defect 4).

With an append-only file a restart mid-run loses nothing: every job is delivered, once. Without one the queue
forgets every job in flight; the bot must notice and tell each user (their "Waiting to start" message edited to a
clear failure, once) instead of leaving them waiting forever.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sandbox.models import Message
from tests.e2e.stack import Stack, labels
from tests.faults.bot_stack import results

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

LIMITS = {"IMAGINE_CONCURRENT_LIMIT": "2", "IMAGINE_QUEUED_LIMIT": "6", "IMAGINE_QUEUE_CAP": "100"}
FAST_RECONCILE = {"IMAGINE_RECONCILE_INTERVAL_S": "1"}
LOST = "This job was lost when the queue restarted"


def _is_lost(message: Message) -> bool:
    return message.content.endswith("(Failed)") and any(LOST in (e.get("description") or "") for e in message.embeds)


def test_without_persistence_every_waiting_user_is_told() -> None:
    """Redis restarted empty under 6 queued jobs of 2 users: each message becomes "lost" (edited once); none is
    left at "Waiting to start"."""
    with Stack(worker=False, queue_env=LIMITS, bot_env=FAST_RECONCILE) as stack:
        waiting = []
        for user in (stack.alice, stack.bob):
            for n in range(3):
                waiting.append(stack.original(stack.slash("imagine", user, prompt=f"lost {user.username} {n}")))
        assert all(m.content.endswith("(Waiting to start)") for m in waiting)
        stack.restart_redis()

        def told() -> bool:
            return all(_is_lost(m) for m in waiting)

        stack.wait(told, 20, "every waiting message to say its job was lost")
        edits = Counter(d["id"] for e, d in stack.events if e == "MESSAGE_UPDATE" and LOST in str(d.get("embeds")))
        assert sorted(edits.values()) == [1] * len(waiting), edits
        assert stack.original(stack.slash("imagine", stack.alice, prompt="after the loss")).content.endswith(
            "(Waiting to start)"
        )
        assert not stack.discord.pop_violations()


def test_without_persistence_a_job_still_running_is_delivered() -> None:
    """A job a worker is running when Redis restarts empty is not called lost: its worker reports on to the new
    Redis and its result is posted, once; the job queued behind it is told it was lost."""
    slow = {**LIMITS, "IMAGINE_STEPS": "40"}  # long enough to be caught running
    # Sweeps 5 s apart: the job's progress must reach the bot between two sweeps, on a shared machine where a step
    # can take half a second and the delivery loop a second to re-create its consumer group on the empty Redis.
    with Stack(queue_env=slow, bot_env={"IMAGINE_RECONCILE_INTERVAL_S": "5"}) as stack:
        stack.slash("imagine", stack.alice, prompt="still running")
        behind = stack.original(stack.slash("imagine", stack.bob, prompt="queued behind"))

        def running() -> bool:
            return any('"percent"' in str(fields) for _, fields in stack.redis.xrange("imagine:events"))

        stack.wait(running, 60, "the first job to be running")
        stack.worker.pause()
        try:
            stack.restart_redis()
        finally:
            stack.worker.resume()
        stack.wait(lambda: results(stack, "still running"), 90, "the running job's result")
        stack.wait(lambda: _is_lost(behind), 20, "the queued job to be told lost")
        messages = stack.messages()
        assert len([m for m in messages if "still running" in m.content and "U1" in labels(m)]) == 1
        assert not any("still running" in m.content and _is_lost(m) for m in messages)
        assert not stack.discord.pop_violations()


def test_with_persistence_a_restart_mid_run_loses_no_job(tmp_path: Path) -> None:
    """With an append-only file, Redis restarted while 8 jobs run and wait: all 8 are delivered, each once."""
    with Stack(persist=True, redis_dir=tmp_path, queue_env=LIMITS, bot_env=FAST_RECONCILE) as stack:
        prompts = [f"kept {user.username} {n}" for user in (stack.alice, stack.bob) for n in range(4)]
        for prompt in prompts:
            stack.slash("imagine", stack.alice if "alice" in prompt else stack.bob, prompt=prompt)
        stack.wait(lambda: any(results(stack, p) for p in prompts), 60, "the first result")
        stack.restart_redis(down_s=1)
        stack.wait(lambda: all(results(stack, p) for p in prompts), 90, "every job delivered")
        stack.slash("info", stack.alice)  # a round trip: anything still in flight in the bot has landed
        messages = stack.messages()
        assert all(len([m for m in messages if p in m.content and "U1" in labels(m)]) == 1 for p in prompts)
        assert not any(_is_lost(m) or m.content.endswith("(Waiting to start)") for m in messages)
        assert not stack.discord.pop_violations()

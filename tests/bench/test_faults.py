"""bench/faults.py: its plans, and a tiny run of two parts on the bench's own stack, so the bench cannot rot."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from bench import fault_commands, fault_kills, faults


def test_kill_plans_add_up() -> None:
    """Part 3 plans exactly the kills asked, two jobs killed on each of their 3 attempts; part 4 kills half the
    time in the post/record window."""
    plan = fault_kills.kill_plan(20, 2)
    assert sum(plan) == 20 and Counter(plan) == {1: 14, 3: 2} and plan[0] == 1
    points = Counter(fault_kills.bot_kill_plan(10, random.Random(14)))
    assert points[fault_kills.KillPoint.RANDOM] == 5 and sum(points.values()) == 10
    assert points[fault_kills.KillPoint.WINDOW_LATE] >= 1
    with pytest.raises(ValueError):
        fault_kills.kill_plan(5, 2)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_small_burst_and_the_forged_ids() -> None:
    """A 2 × 5 burst (limits 1 + 2) and every forged id against the real bot: both promises hold, and the section
    shows each part's counts."""
    with fault_commands.stack(concurrent=1, queued=2) as stack:
        burst = fault_commands.burst(stack, users=2, each=5, concurrent=1, queued=2)
        forged = fault_commands.forged_ids(stack)
    assert burst.held, burst
    assert burst.counts.startswith("10 commands: 0 Internal error; 2 of 2 users exactly 3 accepted + 2 Queue full")
    assert forged.held, forged
    assert "8 of 8 answered in 3 s with an ephemeral error; 0 jobs made" in forged.counts
    text = faults.body([(5, burst), (6, forged)], 12.0)
    assert "| 5 | Burst of 10 commands |" in text and "| 6 | Forged button ids |" in text
    assert "**NO**" not in text and "| U4 on an upscale | `im:u:<upscale job>:4` | Invalid button |" in text

"""Answering in time: a slow enqueue turns the answer into a deferral instead of missing Discord's 3 seconds."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import discord

from bot import submit
from bot.blocking import BlockingExecutor
from bot.submit import Submitter


class _Response:
    def __init__(self, fail: bool = False) -> None:
        self.deferred: list[dict[str, Any]] = []
        self.fail = fail

    async def defer(self, **kwargs: Any) -> None:
        if self.fail:
            raise discord.NotFound(SimpleNamespace(status=404, reason="Not Found"), "Unknown interaction")
        self.deferred.append(kwargs)


def _run(
    delay: float, kind: discord.InteractionType, *, defer_fails: bool = False
) -> tuple[list[Any], list[dict[str, Any]]]:
    blocking = BlockingExecutor(threads=1)
    submitter = Submitter(queue=None, records=None, connection=None, blocking=blocking)  # type: ignore[arg-type]

    async def slow_enqueue_all(jobs: list[Any]) -> tuple[list[Any], None]:
        await asyncio.sleep(delay)
        return ["accepted"], None

    submitter.enqueue_all = slow_enqueue_all  # type: ignore[method-assign]
    interaction = SimpleNamespace(id=1, type=kind, response=_Response(defer_fails))

    async def go() -> tuple[list[Any], Any]:
        return await submitter.enqueue_in_time(interaction, [], time.monotonic())  # type: ignore[arg-type]

    accepted, _ = asyncio.run(go())
    blocking.close()
    return accepted, interaction.response.deferred


def test_fast_enqueue_is_not_deferred(monkeypatch: Any) -> None:
    """Within the budget the caller answers itself: no deferral."""
    monkeypatch.setattr(submit, "ACK_BUDGET_S", 0.5)
    assert _run(0.01, discord.InteractionType.application_command) == (["accepted"], [])


def test_slow_enqueue_defers_then_finishes(monkeypatch: Any) -> None:
    """Past the budget a command is deferred with "thinking…" (a click with a silent update) and still enqueued."""
    monkeypatch.setattr(submit, "ACK_BUDGET_S", 0.05)
    assert _run(0.2, discord.InteractionType.application_command) == (["accepted"], [{"thinking": True}])
    assert _run(0.2, discord.InteractionType.component) == (["accepted"], [{}])


def test_a_failed_deferral_still_returns_what_was_admitted(monkeypatch: Any) -> None:
    """A deferral Discord refuses does not abandon the admission: the caller gets the jobs (to answer or withdraw)."""
    monkeypatch.setattr(submit, "ACK_BUDGET_S", 0.05)
    assert _run(0.2, discord.InteractionType.application_command, defer_fails=True) == (["accepted"], [])

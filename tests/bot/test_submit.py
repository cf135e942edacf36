"""Answering in time (a slow admission is deferred, not late), and never leaving an admitted job behind an error."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import discord
import pytest
import redis

from bot import submit
from bot.blocking import BlockingExecutor
from bot.jobs import JobRecord
from bot.prompt import ParserOptions, parse_prompt
from bot.services import BotServices
from bot.submit import Submitter
from worker.spec import Mode, Requester, imagine_spec


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
    submitter = Submitter(queue=None, records=None, pending=None, connection=None, blocking=blocking)  # type: ignore[arg-type]  # only the executor is used here

    async def slow_enqueue_all(jobs: list[Any]) -> tuple[list[Any], None]:
        await asyncio.sleep(delay)
        return ["accepted"], None

    submitter.enqueue_all = slow_enqueue_all  # type: ignore[method-assign]  # a slow stand-in
    interaction = SimpleNamespace(id=1, type=kind, response=_Response(defer_fails))

    async def go() -> tuple[list[Any], Any]:
        return await submitter.enqueue_in_time(interaction, [], time.monotonic())  # type: ignore[arg-type]  # a stand-in interaction

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


def test_an_error_midway_withdraws_what_was_admitted(services: BotServices, monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis failing on the second of two jobs: the first, already admitted, is withdrawn; the error propagates."""
    requester = Requester(user_id=1, channel_id=10, guild_id=20)
    specs = [
        imagine_spec(parse_prompt(f"fox {n}", ParserOptions())[0], requester, Mode.FAST, 20, model="sd1")
        for n in range(2)
    ]
    enqueue = services.queue.enqueue

    def second_fails(spec: Any) -> Any:
        if spec is specs[1]:
            raise redis.ConnectionError("Connection closed by server.")
        return enqueue(spec)

    monkeypatch.setattr(services.queue, "enqueue", second_fails)
    with pytest.raises(redis.ConnectionError):
        asyncio.run(services.submitter.enqueue_all([(s, JobRecord.for_spec(s)) for s in specs]))
    assert services.queue.events.outcome(specs[0].id)["status"] == "cancelled"
    assert services.queue.admission.in_flight(1) == 0

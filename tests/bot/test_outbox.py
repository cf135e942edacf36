"""Where the bot cannot post in a channel: the interaction while its token lives, else a DM to the user."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.jobs import JobRecord
from bot.outbox import DeliveryImpossible, Outbox
from worker.spec import JobKind

JOB = "0123456789abcdef0123456789abcdef"


def _forbidden() -> discord.Forbidden:
    response = SimpleNamespace(status=403, reason="Forbidden")
    return discord.Forbidden(response, {"code": 50001, "message": "Missing Access"})


class _Sink:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[dict[str, Any]] = []

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        if self.fail:
            raise _forbidden()
        self.sent.append({"args": args, **kwargs})
        return SimpleNamespace(id=99)


class _Client:
    def __init__(self) -> None:
        self.user = _Sink()

    async def fetch_user(self, user_id: int) -> _Sink:
        return self.user


def _outbox() -> tuple[Outbox, _Sink, _Client]:
    client = _Client()
    outbox = Outbox(client)  # type: ignore[arg-type]
    webhook = _Sink()
    outbox._channel = lambda record: _Sink(fail=True)  # type: ignore[method-assign]
    outbox._webhook = lambda record: webhook if record.live_token() else None  # type: ignore[method-assign]
    return outbox, webhook, client


def _record(token_expires_in: float) -> JobRecord:
    return JobRecord(
        job_id=JOB,
        kind=JobKind.IMAGINE,
        user_id=1,
        channel_id=2,
        prompt="fox",
        application_id=3,
        token="tok",
        token_expires_at=time.time() + token_expires_in,
    )


def test_falls_back_to_live_interaction() -> None:
    """Forbidden in the channel: the result goes through the interaction's webhook while the token lives."""
    outbox, webhook, client = _outbox()
    message = asyncio.run(outbox.send(_record(600), content="hi", reference=object()))
    assert message.id == 99
    assert webhook.sent and "reference" not in webhook.sent[0] and webhook.sent[0]["wait"] is True
    assert not client.user.sent


def test_tells_user_when_nothing_works() -> None:
    """Forbidden and no live token: the user gets a DM saying why, and delivery reports it impossible."""
    outbox, webhook, client = _outbox()
    with pytest.raises(DeliveryImpossible):
        asyncio.run(outbox.send(_record(-1), content="hi"))
    assert not webhook.sent
    assert "can't post in <#2>" in client.user.sent[0]["args"][0]

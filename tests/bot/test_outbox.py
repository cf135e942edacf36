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
    outbox = Outbox(client)  # type: ignore[arg-type]  # a stand-in client
    webhook = _Sink()
    outbox._channel = lambda record: _Sink(fail=True)  # type: ignore[method-assign]  # stubs the channel lookup
    outbox._webhook = lambda record: webhook if record.live_token() else None  # type: ignore[method-assign]  # stubs the webhook lookup
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
    message = asyncio.run(outbox.send(_record(600), content="hi", reference=object(), nonce="n"))
    assert message.id == 99
    assert webhook.sent and webhook.sent[0]["wait"] is True
    assert "reference" not in webhook.sent[0] and "nonce" not in webhook.sent[0]  # webhooks take neither
    assert not client.user.sent


def test_tells_user_when_nothing_works() -> None:
    """Forbidden and no live token: the user gets a DM saying why, and delivery reports it impossible."""
    outbox, webhook, client = _outbox()
    with pytest.raises(DeliveryImpossible):
        asyncio.run(outbox.send(_record(-1), content="hi"))
    assert not webhook.sent
    assert "can't post in <#2>" in client.user.sent[0]["args"][0]


class _History:
    """A channel whose history is the given messages (oldest first), recording how it was asked."""

    def __init__(self, messages: list[Any]) -> None:
        self.messages = messages
        self.asked: dict[str, Any] = {}

    async def history(self, *, limit: int, after: Any = None) -> Any:
        self.asked = {"limit": limit, "after": after}
        for message in self.messages:
            yield message


def _message(message_id: int, author: int, *custom_ids: str) -> Any:
    row = SimpleNamespace(children=[SimpleNamespace(custom_id=c) for c in custom_ids])
    return SimpleNamespace(id=message_id, author=SimpleNamespace(id=author), components=[row])


def test_searches_tell_progress_from_result_messages() -> None:
    """find_job_message finds the job's progress message (only ❌), find_result_message its result (U/V buttons),
    each only among the bot's own messages and from a minute before the first try."""
    bot = 5
    client = SimpleNamespace(user=SimpleNamespace(id=bot))
    outbox = Outbox(client)  # type: ignore[arg-type]  # a stand-in client
    channel = _History(
        [
            _message(1, 6, f"im:u:{JOB}:1"),  # another author's copy
            _message(2, bot, f"im:x:{JOB}:0"),  # the progress message
            _message(3, bot, f"im:u:{'f' * 32}:1", f"im:x:{'f' * 32}:0"),  # another job's result
            _message(4, bot, "other:button", f"im:u:{JOB}:1", f"im:x:{JOB}:0"),  # the result
        ]
    )
    outbox._channel = lambda record: channel  # type: ignore[method-assign, assignment, return-value]  # stubs the channel lookup
    record = _record(600)
    assert asyncio.run(outbox.find_job_message(record)) == 2
    tried = time.time()
    assert asyncio.run(outbox.find_result_message(record, since=tried)) == 4
    start = discord.utils.snowflake_time(channel.asked["after"].id).timestamp()
    assert tried - 61 < start < tried - 59

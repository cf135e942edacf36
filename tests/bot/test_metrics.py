"""The bot's Prometheus endpoint: deliveries and interactions counted by outcome, scraped over HTTP."""

from __future__ import annotations

import asyncio
import urllib.request
from types import SimpleNamespace

import redis
from discord import app_commands
from prometheus_client.parser import text_string_to_metric_families

from bot import client, metrics
from bot.client import ImagineBot
from bot.settings import BotSettings
from tests.bot.test_delivery import JOB, _delivery, _Outbox, _setup, server, sync_redis
from worker.embedded_redis import EmbeddedRedis, free_port
from worker.events import EventLog
from worker.settings import QueueSettings

__all__ = ["server", "sync_redis"]  # the Redis fixtures, shared with the delivery tests

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
PORT = free_port()


def scrape() -> Samples:
    """Every sample on the bot's endpoint (started once for this module), keyed by name and labels."""
    if not getattr(scrape, "started", False):
        assert metrics.serve_metrics("127.0.0.1", PORT)
        scrape.started = True  # type: ignore[attr-defined]  # marks the stand-in server
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def delta(before: Samples, after: Samples, metric: str, **labels: str) -> float:
    """How much one sample grew between two scrapes (0 where absent)."""
    key = (metric, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_deliveries_by_event_and_outcome(sync_redis: redis.Redis, server: EmbeddedRedis) -> None:
    """A done event shown once and then seen again counts one "shown" and one "skipped" delivery."""
    _setup(sync_redis)
    event = EventLog(sync_redis).history(JOB)[0]
    before = scrape()

    async def twice() -> None:
        delivery = _delivery(server.url, _Outbox())
        await delivery.handle(event)
        await delivery.handle(event)

    asyncio.run(twice())
    after = scrape()
    assert delta(before, after, "imagine_bot_deliveries_total", event="done", outcome="shown") == 1
    assert delta(before, after, "imagine_bot_deliveries_total", event="done", outcome="skipped") == 1


def test_commands_counted_by_name_and_outcome(monkeypatch) -> None:
    """A slash command that completes counts "ok"; one that raises counts "error" (and is still answered)."""
    monkeypatch.setenv("DISCORD_TOKEN", "MTIz.token")
    bot = ImagineBot(BotSettings(_env_file=None), QueueSettings(_env_file=None))
    answered: list[object] = []

    async def answer_error(interaction: object, embed: object) -> None:
        answered.append(embed)

    monkeypatch.setattr(client, "answer_error", answer_error)
    command = SimpleNamespace(name="info")
    before = scrape()
    asyncio.run(bot.on_app_command_completion(SimpleNamespace(), command))  # type: ignore[arg-type]  # a stand-in interaction
    failed = SimpleNamespace(command=command)
    asyncio.run(bot._on_command_error(failed, app_commands.AppCommandError("boom")))  # type: ignore[arg-type]  # a stand-in interaction
    after = scrape()
    assert delta(before, after, "imagine_bot_interactions_total", type="command", name="info", outcome="ok") == 1
    assert delta(before, after, "imagine_bot_interactions_total", type="command", name="info", outcome="error") == 1
    assert len(answered) == 1


def test_imagine_bot_serves_metrics_on_its_port(monkeypatch) -> None:
    """`imagine bot` starts the endpoint on IMAGINE_BOT_METRICS_PORT at IMAGINE_METRICS_HOST before connecting."""
    import argparse

    from cli import bot as cli_bot

    calls: list[tuple[str, int]] = []
    monkeypatch.setenv("DISCORD_TOKEN", "MTIz.token")
    monkeypatch.setenv("IMAGINE_BOT_METRICS_PORT", "9321")
    monkeypatch.setenv("IMAGINE_METRICS_HOST", "127.0.0.2")
    monkeypatch.setattr(metrics, "serve_metrics", lambda host, port: calls.append((host, port)) or True)
    served: list[str] = []

    async def serve(bot: ImagineBot, token: str) -> None:
        served.append(token)  # stands in for the gateway session, which needs Discord

    monkeypatch.setattr(cli_bot, "_serve", serve)
    assert cli_bot.run(argparse.Namespace(sync=False, verbose=False)) == 0
    assert calls == [("127.0.0.2", 9321)]
    assert served == ["MTIz.token"]

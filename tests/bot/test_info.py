"""/info against a real Redis: the user's jobs with where they stand, their mode, the model, workers online."""

from __future__ import annotations

import asyncio
import time

import discord
import pytest

from bot import info as info_module
from bot import keys
from bot.info import Info
from bot.jobs import JobRecord
from bot.prompt import ParserOptions, parse_prompt
from bot.services import BotServices
from bot.user_settings import UserSettings
from tests.bot.fleet import DEMO, chooser, publish
from worker import keys as worker_keys
from worker.queue import JobState, Position
from worker.spec import JobSpec, Mode, Requester, imagine_spec

ALICE = Requester(user_id=1, channel_id=10, guild_id=20)


def _info(services: BotServices) -> Info:
    return Info(
        connection=services.redis,
        queue=services.queue,
        records=services.records,
        user_prefs=services.user_prefs,
        blocking=services.blocking,
        models=chooser(services),
    )


def _enqueue(services: BotServices, prompt: str, *, record: bool = True) -> JobSpec:
    spec = imagine_spec(parse_prompt(prompt, ParserOptions())[0], ALICE, Mode.FAST, 20, model="sd1")
    if record:
        services.queue.connection.set(keys.record(spec.id), JobRecord.for_spec(spec).model_dump_json())
    services.queue.enqueue(spec)
    return spec


def _fields(services: BotServices, user_id: int = 1) -> dict[str, str | None]:
    embed: discord.Embed = asyncio.run(_info(services).embed(user_id))
    assert embed.title == "Your info"
    return {field.name or "": field.value for field in embed.fields}


def test_no_jobs(services: BotServices) -> None:
    """A user without jobs sees none, their default mode, the model their prompts go to and the one model online."""
    assert _fields(services) == {
        "Mode": "Fast",
        "Model": "`sd1` (5)",
        "Workers online": "1",
        "Models online": "`sd1` (5) — 1 worker, 0 fast and 0 relax jobs queued",
        "Jobs (0)": "No jobs running or queued.",
    }


def test_models_online_with_worker_counts_and_queue_depths(services: BotServices) -> None:
    """Every model online is listed with its workers and the jobs waiting in its own queues; /settings picks Model."""
    publish(services, DEMO, "demo-1")
    publish(services, DEMO, "demo-2")
    _enqueue(services, "a red fox")
    services.queue.connection.set(keys.user_settings(1), UserSettings(model="niji").model_dump_json())
    fields = _fields(services)
    assert (fields["Model"], fields["Workers online"]) == ("`demo` (a, niji)", "3")
    assert fields["Models online"] == "\n".join(
        [
            "`demo` (a, niji) — 2 workers, 0 fast and 0 relax jobs queued",
            "`sd1` (5) — 1 worker, 1 fast and 0 relax jobs queued",
        ]
    )


def test_no_model_online(services: BotServices) -> None:
    """With every worker gone, /info says so, and that the user's chosen model is offline."""
    services.queue.connection.delete(worker_keys.FLEET)
    services.queue.connection.set(keys.user_settings(1), UserSettings(model="xl").model_dump_json())
    fields = _fields(services)
    assert (fields["Model"], fields["Workers online"]) == ("`xl` (offline)", "0")
    assert fields["Models online"] == "None: no worker is running."


def test_jobs_with_positions(services: BotServices) -> None:
    """Queued jobs say how many jobs are ahead in the queue, a held-back one its place in the user's own line."""
    fox, cat, owl = (_enqueue(services, text) for text in ("a red fox", "a cat", "an owl"))
    bee = _enqueue(services, "a bee", record=False)
    services.queue.cancel(owl.id)
    services.queue.connection.set(keys.user_settings(1), UserSettings(mode=Mode.RELAX).model_dump_json())
    fields = _fields(services)
    assert (fields["Mode"], fields["Workers online"]) == ("Relax", "1")
    assert fields["Jobs (3)"] == "\n".join(
        [
            f"`{fox.id[:8]}` **a red fox** — queued, none ahead",
            f"`{cat.id[:8]}` **a cat** — queued, 1 job ahead",
            f"`{bee.id[:8]}` **?** — held back by your limit, 1st in your line",
        ]
    )


def test_long_lists_are_cut(services: BotServices, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_LISTED jobs the list ends with how many more there are."""
    monkeypatch.setattr(info_module, "MAX_LISTED", 2)
    for text in ("a fox", "a cat", "an owl"):
        _enqueue(services, text)
    assert _fields(services)["Jobs (3)"].endswith("\n…and 1 more")


@pytest.mark.parametrize(
    ("position", "shown"),
    [
        (Position(JobState.QUEUED, 2), "queued, 2 jobs ahead"),
        (Position(JobState.WAITING, 1), "held back by your limit, 2nd in your line"),
        (Position(JobState.WAITING, 2), "held back by your limit, 3rd in your line"),
        (Position(JobState.WAITING, 10), "held back by your limit, 11th in your line"),
        (Position(JobState.WAITING, 20), "held back by your limit, 21st in your line"),
        (Position(JobState.WAITING), "held back by your limit"),
        (Position(JobState.RUNNING), "running"),
    ],
)
def test_places_name_their_line(position: Position, shown: str) -> None:
    """The queue everyone shares counts jobs ahead; the user's own line (their limit) gives a place in it."""
    assert info_module._where(position) == shown


def test_long_prompts_fit_the_embed_field(services: BotServices, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten listed jobs whose prompts escape to twice their length, at the longest place, fit an embed field."""
    monkeypatch.setattr(services.queue, "position", lambda job_id: Position(JobState.WAITING, 9))
    # Past the test's per-user limits, so the jobs are recorded as admission would, without queueing them.
    for _ in range(12):
        spec = imagine_spec(parse_prompt("*" * 1400, ParserOptions())[0], ALICE, Mode.FAST, 20, model="sd1")
        services.queue.connection.set(keys.record(spec.id), JobRecord.for_spec(spec).model_dump_json())
        services.queue.connection.zadd(worker_keys.user_jobs(1), {spec.id: time.time() + 600})
    jobs = _fields(services)["Jobs (12)"]
    assert jobs is not None and len(jobs) <= 1024 and jobs.endswith("…and 2 more")
    assert jobs.splitlines()[0].split("**")[1].endswith("…")

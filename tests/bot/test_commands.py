"""The slash commands against a real Redis and a stand-in interaction: what the user sees, what gets queued."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot import custom_ids, keys
from bot.commands import Commands
from bot.info import Info
from bot.moderation import BannedWords
from bot.services import BotServices
from bot.settings_view import settings_embed
from bot.user_settings import UserSettings
from tests.bot.fleet import chooser
from tests.bot.stand_ins import Interaction, Shown
from worker.spec import JobKind, Mode, Requester


def _commands(services: BotServices) -> Commands:
    info = Info(
        connection=services.redis,
        queue=services.queue,
        records=services.records,
        user_prefs=services.user_prefs,
        blocking=services.blocking,
        models=chooser(services),
    )
    return Commands(
        user_prefs=services.user_prefs,
        submitter=services.submitter,
        outbox=services.outbox,
        info=info,
        models=chooser(services),
        banned=BannedWords(["dragon"]),
    )


def _run(services: BotServices, scenario: Callable[[Commands], Awaitable[None]]) -> None:
    asyncio.run(scenario(_commands(services)))


def _job_id(shown: Shown) -> str:
    return custom_ids.decode(shown.button_ids[0]).job_id


def _queued(services: BotServices, mode: Mode = Mode.FAST) -> list[str]:
    return services.queue.rq_queue("sd1", mode).job_ids


def test_imagine_answers_waiting_and_enqueues(services: BotServices) -> None:
    """/imagine answers with the job's "Waiting to start" message and ❌, and the job is in the fast queue."""
    interaction = Interaction(user_id=1)

    async def scenario(commands: Commands) -> None:
        await commands.imagine(interaction, "a red fox --ar 3:2 --q 2")
        record = await services.records.load(_job_id(interaction.shown[0]))
        assert record is not None and record.message_id == interaction.shown[0].id
        assert (record.prompt, record.token, record.application_id) == (
            "a red fox --ar 3:2 --q 2",
            "interaction-token",
            555,
        )

    _run(services, scenario)
    [answer] = interaction.shown
    assert (answer.how, answer.content, answer.ephemeral) == (
        "response",
        "**a red fox --ar 3:2 --q 2** - <@1> (Waiting to start)",
        False,
    )
    assert answer.embed is None and answer.button_ids == [
        custom_ids.encode(custom_ids.Action.CANCEL, _job_id(answer), 0)
    ]
    spec = services.queue.load_spec(_job_id(answer))
    assert spec is not None and _queued(services) == [spec.id]
    assert (spec.kind, spec.prompt.text, spec.prompt.aspect, spec.steps, spec.mode) == (
        JobKind.IMAGINE,
        "a red fox",
        "3:2",
        40,
        Mode.FAST,
    )
    assert spec.requester == Requester(user_id=1, channel_id=10, guild_id=20)


def test_imagine_follows_user_settings_and_relax(services: BotServices) -> None:
    """The user's saved stylize and suffix are applied, and --relax sends the job to the relax queue."""
    interaction = Interaction(user_id=3)

    async def scenario(commands: Commands) -> None:
        await services.user_prefs.save(3, UserSettings(stylize=250, suffix="at dusk --ar 16:9"))
        await commands.imagine(interaction, "a lighthouse --relax")

    _run(services, scenario)
    spec = services.queue.load_spec(_job_id(interaction.shown[0]))
    assert spec is not None and _queued(services, Mode.RELAX) == [spec.id] and _queued(services) == []
    assert (spec.prompt.text, spec.prompt.stylize, spec.prompt.aspect, spec.mode) == (
        "a lighthouse at dusk",
        250,
        "16:9",
        Mode.RELAX,
    )


def test_invalid_and_banned_prompts_are_refused(services: BotServices) -> None:
    """A bad parameter and a banned word are answered with ephemeral red embeds; nothing is queued."""
    bad, banned = Interaction(), Interaction()

    async def scenario(commands: Commands) -> None:
        await commands.imagine(bad, "a fox --ar banana")
        await commands.imagine(banned, "a red Dragon")

    _run(services, scenario)
    assert [(s.how, s.title, s.ephemeral) for s in bad.shown] == [("response", "Invalid parameter", True)]
    assert [(s.how, s.title, s.ephemeral) for s in banned.shown] == [("response", "Banned prompt detected", True)]
    assert "Dragon" in (banned.shown[0].embed.description or "")
    assert _queued(services) == [] and services.queue.connection.keys(keys.record("*")) == []


def test_permutations_post_one_message_per_job(services: BotServices) -> None:
    """{red, blue} makes two jobs: the answer shows the first, a channel post the second."""
    interaction = Interaction(user_id=1)

    async def scenario(commands: Commands) -> None:
        await commands.imagine(interaction, "a {red, blue} fox")

    _run(services, scenario)
    assert [(s.how, s.content) for s in interaction.shown] == [
        ("response", "**a red fox** - <@1> (Waiting to start)"),
        ("outbox", "**a blue fox** - <@1> (Waiting to start)"),
    ]
    assert _queued(services) == [_job_id(s) for s in interaction.shown]


def test_limits_hold_back_then_refuse(services: BotServices) -> None:
    """Past the concurrent limit jobs are "Job queued" (yellow); past the queued limit the answer is Queue full."""
    first, second = Interaction(user_id=1), Interaction(user_id=1)

    async def scenario(commands: Commands) -> None:
        await commands.imagine(first, "a fox --repeat 4")
        await commands.imagine(second, "a cat")

    _run(services, scenario)
    assert [s.title for s in first.shown] == [None, None, "Job queued", "Job queued"]
    assert all("in your line." in (s.embed.description or "") for s in first.shown[2:] if s.embed)
    assert [(s.how, s.title, s.ephemeral) for s in second.shown] == [("response", "Queue full", True)]


def test_settings_saves_the_suffix(services: BotServices) -> None:
    """/settings suffix:… saves it and shows it in the panel; "none" clears it."""
    saving, clearing = Interaction(user_id=5), Interaction(user_id=5)
    saved: list[UserSettings] = []

    async def scenario(commands: Commands) -> None:
        await commands.settings(saving, " --ar 2:3 ")
        saved.append(await services.user_prefs.load(5))
        await commands.settings(clearing, "None")
        saved.append(await services.user_prefs.load(5))

    _run(services, scenario)
    assert [prefs.suffix for prefs in saved] == ["--ar 2:3", ""]
    panel = saving.shown[0]  # the suffix is shown as typed, in a code span (no markdown escapes to show)
    assert (panel.how, panel.title, panel.ephemeral) == ("response", "Your settings", True)
    assert panel.embed is not None and {f.name: f.value for f in panel.embed.fields}["Suffix"] == "`--ar 2:3`"


@pytest.mark.parametrize(
    ("suffix", "shown"),
    [
        ("--ar 16:9 --s 250", "`--ar 16:9 --s 250`"),
        ("under_score *star* ~~x~~", "`under_score *star* ~~x~~`"),
        ("a `quoted` word", "``a `quoted` word``"),
        ("`x`", "`` `x` ``"),
    ],
)
def test_the_suffix_is_shown_as_typed(suffix: str, shown: str) -> None:
    """The panel shows the suffix in inline code, which Discord renders literally: no backslashes to see."""
    fields = {f.name: f.value for f in settings_embed(UserSettings(suffix=suffix)).fields}
    assert fields["Suffix"] == shown


def test_info_is_deferred_then_shown(services: BotServices) -> None:
    """/info thinks first (ephemerally), then shows the user's jobs."""
    imagine, info = Interaction(user_id=1), Interaction(user_id=1)

    async def scenario(commands: Commands) -> None:
        await commands.imagine(imagine, "a fox")
        await commands.info(info)

    _run(services, scenario)
    assert [(s.how, s.kwargs) for s in info.shown[:1]] == [("defer", {"ephemeral": True, "thinking": True})]
    assert (info.shown[1].how, info.shown[1].title, info.shown[1].ephemeral) == ("followup", "Your info", True)
    assert info.shown[1].embed is not None and info.shown[1].embed.fields[-1].name == "Jobs (1)"


def _withdrawn(services: BotServices, job_id: str) -> bool:
    """The job was taken back: cancelled before running, its slot free, its result never to be posted."""
    outcome = services.queue.events.outcome(job_id)
    return (
        outcome is not None
        and outcome["status"] == "cancelled"
        and services.queue.connection.get(keys.delivered(job_id)) == b"withdrawn"
        and job_id not in _queued(services)
    )


def test_an_answer_discord_refuses_withdraws_the_job(services: BotServices) -> None:
    """The "Waiting to start" answer refused (a 400): the job is withdrawn and the user told once, ephemerally."""
    interaction = Interaction(user_id=1)
    interaction.response.refuse = 1

    async def scenario(commands: Commands) -> None:
        await commands.imagine(interaction, "a refused fox")

    _run(services, scenario)
    [answer] = interaction.shown
    assert (answer.how, answer.title, answer.ephemeral) == ("response", "Internal error", True)
    assert "could not be shown, so it was cancelled" in (answer.embed.description or "")
    [job_id] = [k.decode().rsplit(":", 1)[1] for k in services.queue.connection.keys(keys.record("*"))]
    assert _withdrawn(services, job_id)
    assert services.queue.admission.in_flight(1) == 0


def test_a_later_message_refused_withdraws_only_the_unshown_jobs(services: BotServices) -> None:
    """{red, blue}: the first job's message is shown, the second's refused: only the second is withdrawn, and the
    user is told in a follow-up (never an Internal error for the job they have)."""
    interaction = Interaction(user_id=1)
    services.outbox.refuse = 1  # type: ignore[attr-defined]  # the stand-in outbox

    async def scenario(commands: Commands) -> None:
        await commands.imagine(interaction, "a {red, blue} fox")

    _run(services, scenario)
    shown, told = interaction.shown
    assert (shown.how, shown.content) == ("response", "**a red fox** - <@1> (Waiting to start)")
    assert (told.how, told.ephemeral, told.title) == ("followup", True, "Internal error")
    kept = _job_id(shown)
    [other] = [
        k.decode().rsplit(":", 1)[1]
        for k in services.queue.connection.keys(keys.record("*"))
        if not k.decode().endswith(kept)
    ]
    assert _queued(services) == [kept] and _withdrawn(services, other)

"""Job buttons against a real Redis and a stand-in interaction: who may press, what gets queued, what is shown."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from bot import custom_ids, keys, views
from bot.actions import ButtonActions
from bot.custom_ids import Action, ButtonId
from bot.jobs import CancelReply, JobRecord
from bot.prompt import ParserOptions, parse_prompt
from bot.services import BotServices
from bot.user_settings import UserSettings
from tests.bot.fleet import DEMO, SD1, chooser, publish
from tests.bot.stand_ins import Interaction, Message, Shown
from worker import keys as worker_keys
from worker.cards import Capabilities, ModelCard
from worker.events import EventType, make_event
from worker.queue import JobState
from worker.spec import JobKind, JobSpec, Mode, Parent, Requester, Strength, follow_up_spec, imagine_spec

ALICE = Requester(user_id=1, channel_id=10, guild_id=20)


def _actions(services: BotServices) -> ButtonActions:
    return ButtonActions(
        queue=services.queue,
        blocking=services.blocking,
        records=services.records,
        user_prefs=services.user_prefs,
        submitter=services.submitter,
        outbox=services.outbox,
        models=chooser(services),
    )


def _parent(services: BotServices) -> JobSpec:
    """Alice's queued /imagine job "a red fox" (seed 7), with its record."""
    spec = imagine_spec(parse_prompt("a red fox --seed 7", ParserOptions())[0], ALICE, Mode.FAST, 20, model="sd1")
    services.queue.enqueue(spec)
    services.queue.connection.set(keys.record(spec.id), JobRecord.for_spec(spec).model_dump_json())
    return spec


def _run(services: BotServices, scenario: Callable[[ButtonActions], Awaitable[None]]) -> None:
    asyncio.run(scenario(_actions(services)))


def _press(action: Action, job_id: str, index: int, user_id: int) -> tuple[Interaction, ButtonId]:
    """A press of the button on the job's grid message."""
    message = Message(views.grid_view(job_id))
    interaction = Interaction(user_id, message=message, kind=discord.InteractionType.component)
    return interaction, ButtonId(action, job_id, index)


def _new_job(services: BotServices, shown: Shown) -> JobSpec:
    spec = services.queue.load_spec(custom_ids.decode(shown.button_ids[0]).job_id)
    assert spec is not None
    return spec


def test_upscale_by_anyone(services: BotServices) -> None:
    """Bob's U2 on Alice's grid turns U2 blue and queues Bob's upscale of image 2 with the grid's seed."""
    parent = _parent(services)
    interaction, button = _press(Action.UPSCALE, parent.id, 2, user_id=2)
    allowed: list[bool] = []
    records: list[JobRecord | None] = []

    async def scenario(actions: ButtonActions) -> None:
        allowed.append(await actions.check(interaction, button))
        await actions.press(interaction, button)
        records.append(await services.records.load(_new_job(services, interaction.shown[1]).id))

    _run(services, scenario)
    assert allowed == [True]
    edit, followup = interaction.shown
    blue = [item.custom_id for item in edit.kwargs["view"].children if item.item.style is discord.ButtonStyle.primary]
    assert edit.how == "edit" and blue == [button.encode()]
    assert (followup.how, followup.content) == (
        "followup",
        "Upscaling image #2 with **a red fox** - <@2> (Waiting to start)",
    )
    spec = _new_job(services, followup)
    assert (spec.kind, spec.strength, spec.parent, spec.seed) == (
        JobKind.UPSCALE,
        Strength.SUBTLE,
        Parent(job_id=parent.id, index=2),
        7,
    )
    assert spec.requester == Requester(user_id=2, channel_id=10, guild_id=20)
    assert services.queue.rq_queue("sd1", Mode.FAST).job_ids == [parent.id, spec.id]
    record = records[0]
    assert record is not None and (record.index, record.reply_to, record.message_id) == (
        2,
        interaction.message.id,
        followup.id,
    )


def test_vary_and_reroll_follow_the_presser(services: BotServices) -> None:
    """V1 makes the presser's (subtle) variations in their (relax) mode; 🔄 rerolls the prompt from a new seed."""
    parent = _parent(services)
    vary, vary_button = _press(Action.VARY, parent.id, 1, user_id=2)
    reroll, reroll_button = _press(Action.REROLL, parent.id, 0, user_id=2)

    async def scenario(actions: ButtonActions) -> None:
        await services.user_prefs.save(2, UserSettings(variation=Strength.SUBTLE, mode=Mode.RELAX))
        await actions.press(vary, vary_button)
        await actions.press(reroll, reroll_button)

    _run(services, scenario)
    assert vary.shown[1].content == "Making variations for image #1 with **a red fox** - <@2> (Waiting to start)"
    variation = _new_job(services, vary.shown[1])
    assert (variation.kind, variation.strength, variation.mode) == (JobKind.VARIATION, Strength.SUBTLE, Mode.RELAX)
    assert reroll.shown[1].content == "**a red fox** - <@2> (Waiting to start)"
    rerolled = _new_job(services, reroll.shown[1])
    assert (rerolled.kind, rerolled.prompt, rerolled.parent) == (
        JobKind.REROLL,
        parent.prompt,
        Parent(job_id=parent.id, index=1),
    )
    assert services.queue.rq_queue("sd1", Mode.RELAX).job_ids == [variation.id, rerolled.id]


def test_press_on_an_expired_job(services: BotServices) -> None:
    """A button whose job is gone is answered "Job expired" (ephemeral) and queues nothing."""
    interaction, button = _press(Action.VARY, "f" * 32, 1, user_id=2)

    async def scenario(actions: ButtonActions) -> None:
        await actions.press(interaction, button)

    _run(services, scenario)
    assert [(s.how, s.title, s.ephemeral) for s in interaction.shown] == [("response", "Job expired", True)]
    assert services.queue.rq_queue("sd1", Mode.FAST).job_ids == []


def test_grid_button_on_an_upscale_is_refused(services: BotServices) -> None:
    """A forged U4 on a one-image upscale is answered "Invalid button" and queues nothing (not even the parent)."""
    grid = _parent(services)
    upscale = follow_up_spec(grid, JobKind.UPSCALE, Strength.SUBTLE, 2, ALICE, Mode.FAST, 20)
    services.queue.enqueue(upscale)
    before = list(services.queue.rq_queue("sd1", Mode.FAST).job_ids)
    interaction, button = _press(Action.UPSCALE, upscale.id, 4, user_id=2)

    async def scenario(actions: ButtonActions) -> None:
        await actions.press(interaction, button)

    _run(services, scenario)
    assert [(s.how, s.title, s.ephemeral) for s in interaction.shown] == [("response", "Invalid button", True)]
    assert services.queue.rq_queue("sd1", Mode.FAST).job_ids == before


def test_cancel_is_the_owners(services: BotServices) -> None:
    """❌ passes the check for the job's owner only; others are told whose it is, unknown jobs have expired."""
    parent = _parent(services)
    owner, button = _press(Action.CANCEL, parent.id, 0, user_id=1)
    other, _ = _press(Action.CANCEL, parent.id, 0, user_id=2)
    unknown, unknown_button = _press(Action.CANCEL, "f" * 32, 0, user_id=1)
    allowed: list[bool] = []

    async def scenario(actions: ButtonActions) -> None:
        for interaction, pressed in ((owner, button), (other, button), (unknown, unknown_button)):
            allowed.append(await actions.check(interaction, pressed))

    _run(services, scenario)
    assert allowed == [True, False, False]
    assert owner.shown == []
    assert [(s.title, s.ephemeral) for s in other.shown] == [("Not your job", True)]
    assert "<@1>" in (other.shown[0].embed.description or "")
    assert [(s.title, s.ephemeral) for s in unknown.shown] == [("Job expired", True)]


def test_cancel_a_queued_job(services: BotServices) -> None:
    """The owner's ❌ on a queued job cancels it and says so, ephemerally."""
    parent = _parent(services)
    interaction, button = _press(Action.CANCEL, parent.id, 0, user_id=1)

    async def scenario(actions: ButtonActions) -> None:
        await actions.press(interaction, button)

    _run(services, scenario)
    assert [(s.how, s.content, s.ephemeral) for s in interaction.shown] == [("response", "Cancelled.", True)]
    assert services.queue.position(parent.id).state is JobState.CANCELLED


def _started(services: BotServices, job_id: str) -> None:
    """A worker has taken the job (RQ's status), so a cancel only asks it to stop."""
    Job.fetch(job_id, connection=services.queue.connection, serializer=JSONSerializer).set_status(JobStatus.STARTED)


def test_cancel_a_running_job_leaves_its_answer_to_edit(services: BotServices) -> None:
    """❌ on a running job answers "Cancelling the job…" and keeps the press's token to edit that answer later."""
    parent = _parent(services)
    _started(services, parent.id)
    interaction, button = _press(Action.CANCEL, parent.id, 0, user_id=1)
    replies: list[CancelReply | None] = []

    async def scenario(actions: ButtonActions) -> None:
        await actions.press(interaction, button)
        replies.append(await services.records.take_cancel_reply(parent.id))

    _run(services, scenario)
    answer = interaction.shown[0]
    assert (answer.how, answer.content, answer.ephemeral) == ("response", "Cancelling the job…", True)
    assert replies == [CancelReply(application_id=555, token="interaction-token", message_id=answer.id)]
    assert services.outbox.replies == []  # type: ignore[attr-defined]  # the stand-in records edited replies


def test_a_job_that_ends_while_the_press_is_answered_is_told_at_once(services: BotServices) -> None:
    """If the job's end came before the reply was saved (delivery found nothing to edit), the press edits it."""
    parent = _parent(services)
    _started(services, parent.id)
    interaction, button = _press(Action.CANCEL, parent.id, 0, user_id=1)
    answer = interaction.response.send_message

    async def worker_stops_meanwhile(content: str | None = None, **kwargs: Any) -> Any:
        services.queue.events.finish(make_event(EventType.CANCELLED, parent.id, ALICE, {"reason": "cancelled"}))
        return await answer(content, **kwargs)

    interaction.response.send_message = worker_stops_meanwhile  # type: ignore[method-assign]

    async def scenario(actions: ButtonActions) -> None:
        await actions.press(interaction, button)

    _run(services, scenario)
    edited = services.outbox.replies  # type: ignore[attr-defined]  # the stand-in records edited replies
    assert [(reply.message_id, text) for reply, text in edited] == [(interaction.shown[0].id, "Cancelled.")]


def test_cancel_a_finished_job_deletes_its_message(services: BotServices) -> None:
    """The owner's ❌ on a result deletes the result message."""
    parent = _parent(services)
    services.queue.events.finish(make_event(EventType.DONE, parent.id, ALICE, {"files": []}))
    interaction, button = _press(Action.CANCEL, parent.id, 0, user_id=1)

    async def scenario(actions: ButtonActions) -> None:
        await actions.press(interaction, button)

    _run(services, scenario)
    assert [s.how for s in interaction.shown] == ["defer"]
    assert interaction.message is not None and interaction.message.deleted


def test_upscale_of_an_upscale_is_drawn_again_from_the_grid_cell(services: BotServices) -> None:
    """Upscale (Creative) on U3's upscale names grid cell 3 as its source, so the image is 2× the cell, not 4×."""
    grid = _parent(services)
    upscaled = follow_up_spec(grid, JobKind.UPSCALE, Strength.SUBTLE, 3, ALICE, Mode.FAST, 20)
    services.queue.enqueue(upscaled)
    services.queue.connection.set(keys.record(upscaled.id), JobRecord.for_spec(upscaled, index=3).model_dump_json())
    interaction, button = _press(Action.UPSCALE_CREATIVE, upscaled.id, 1, user_id=1)

    async def scenario(actions: ButtonActions) -> None:
        await actions.press(interaction, button)

    _run(services, scenario)
    followup = interaction.shown[-1]
    assert followup.content == "Upscaling image #3 with **a red fox** - <@1> (Waiting to start)"
    again = _new_job(services, followup)
    assert (again.kind, again.strength, again.parent, again.seed) == (
        JobKind.UPSCALE,
        Strength.CREATIVE,
        Parent(job_id=grid.id, index=3),
        7,
    )
    assert (again.model, again.prompt.width) == ("sd1", 512)


def test_follow_ups_go_to_the_parents_model(services: BotServices) -> None:
    """A variation of a demo grid is drawn by demo, with demo's steps, even when the presser's default is sd1."""
    publish(services, DEMO)
    grid = imagine_spec(
        parse_prompt("a red sun", ParserOptions(base=128, size_step=32))[0], ALICE, Mode.FAST, 8, model="demo"
    )
    services.queue.enqueue(grid)
    interaction, button = _press(Action.VARY, grid.id, 2, user_id=2)

    async def scenario(actions: ButtonActions) -> None:
        await services.user_prefs.save(2, UserSettings(model="sd1"))
        await actions.press(interaction, button)

    _run(services, scenario)
    variation = _new_job(services, interaction.shown[-1])
    assert (variation.model, variation.steps, variation.prompt.width) == ("demo", DEMO.default_steps, 128)
    assert services.queue.rq_queue("demo", Mode.FAST).job_ids == [grid.id, variation.id]


def test_follow_up_of_an_offline_model_is_refused(services: BotServices) -> None:
    """A button on a job whose model no worker runs any more is answered Model offline, and nothing is queued."""
    grid = _parent(services)
    services.queue.connection.delete(worker_keys.FLEET)
    publish(services, DEMO)
    interaction, button = _press(Action.UPSCALE, grid.id, 1, user_id=2)

    async def scenario(actions: ButtonActions) -> None:
        await actions.press(interaction, button)

    _run(services, scenario)
    [answer] = interaction.shown
    assert (answer.how, answer.title, answer.ephemeral) == ("response", "Model offline", True)
    assert answer.embed is not None and "This button asks for model `sd1`" in (answer.embed.description or "")
    assert services.queue.rq_queue("sd1", Mode.FAST).job_ids == [grid.id]


def test_follow_ups_the_model_cannot_make_are_refused(services: BotServices) -> None:
    """No img2img on the card: V is refused; with img2img but a small max_side, U is refused as too large."""
    grid = _parent(services)
    vary, vary_button = _press(Action.VARY, grid.id, 1, user_id=2)
    upscale, upscale_button = _press(Action.UPSCALE, grid.id, 1, user_id=2)

    def only(card: ModelCard) -> None:
        services.queue.connection.delete(worker_keys.FLEET)
        publish(services, card)

    async def scenario(actions: ButtonActions) -> None:
        only(SD1.model_copy(update={"capabilities": Capabilities(img2img=False)}))
        await actions.press(vary, vary_button)
        only(SD1.model_copy(update={"max_side": 768}))
        await actions.press(upscale, upscale_button)

    _run(services, scenario)
    assert [(s.title, s.ephemeral) for s in vary.shown] == [("Not supported by this model", True)]
    assert [(s.title, s.ephemeral) for s in upscale.shown] == [("Image too large", True)]
    assert upscale.shown[0].embed is not None and "1024 px on a side" in (upscale.shown[0].embed.description or "")
    assert services.queue.rq_queue("sd1", Mode.FAST).job_ids == [grid.id]


def test_a_follow_up_whose_message_is_refused_is_withdrawn(services: BotServices) -> None:
    """U1 whose job message Discord refuses: the upscale is cancelled (slot freed, never posted), the user told once."""
    parent = _parent(services)
    interaction, button = _press(Action.UPSCALE, parent.id, 1, user_id=2)
    interaction.followup.refuse = 1

    async def scenario(actions: ButtonActions) -> None:
        await actions.press(interaction, button)

    _run(services, scenario)
    edit, told = interaction.shown
    assert edit.how == "edit" and (told.how, told.ephemeral, told.title) == ("followup", True, "Internal error")
    assert services.queue.rq_queue("sd1", Mode.FAST).job_ids == [parent.id]
    assert services.queue.admission.in_flight(2) == 0


def test_a_foreign_button_on_the_pressed_message_is_kept(services: BotServices) -> None:
    """U1 on a message that also carries another app's button and a link: the job is made, both are kept as they
    were, and only U1 turns blue."""
    parent = _parent(services)
    foreign = {"type": 2, "style": 2, "label": "Help", "custom_id": "helpdesk:open"}
    link = {"type": 2, "style": 5, "label": "Docs", "url": "https://example.com/docs"}
    message = Message(views.grid_view(parent.id), extra_rows=[{"type": 1, "components": [foreign, link]}])
    interaction = Interaction(2, message=message, kind=discord.InteractionType.component)

    async def scenario(actions: ButtonActions) -> None:
        await actions.press(interaction, ButtonId(Action.UPSCALE, parent.id, 1))

    _run(services, scenario)
    edit, followup = interaction.shown
    items = edit.kwargs["view"].children
    kept = [(i.custom_id, i.url, i.label) for i in items[-2:]]
    assert kept == [("helpdesk:open", None, "Help"), (None, "https://example.com/docs", "Docs")]
    blue = [i.custom_id for i in items if getattr(i, "item", i).style is discord.ButtonStyle.primary]
    assert blue == [custom_ids.encode(Action.UPSCALE, parent.id, 1)]
    assert followup.content == "Upscaling image #1 with **a red fox** - <@2> (Waiting to start)"

"""/imagine routed by the live cards, against a real Redis: which model, its sizes and steps, and each refusal."""

from __future__ import annotations

import asyncio

import discord
import pytest

from bot import custom_ids
from bot.commands import Commands
from bot.info import Info
from bot.moderation import BannedWords
from bot.services import BotServices
from bot.settings_view import SERVER_DEFAULT, SettingsView
from bot.user_settings import UserSettings
from tests.bot.fleet import DEMO, PLAIN, SD1, chooser, publish
from tests.bot.stand_ins import Interaction, Shown
from worker import keys
from worker.cards import ModelCard
from worker.sizes import Aspect, size_for_aspect
from worker.spec import JobSpec, Mode


def _commands(services: BotServices, default_model: str | None = None) -> Commands:
    models = chooser(services, default_model)
    info = Info(
        connection=services.redis,
        queue=services.queue,
        records=services.records,
        user_prefs=services.user_prefs,
        blocking=services.blocking,
        models=models,
    )
    return Commands(
        user_prefs=services.user_prefs,
        submitter=services.submitter,
        outbox=services.outbox,
        info=info,
        models=models,
        banned=BannedWords([]),
    )


async def _imagine(services: BotServices, prompt: str, *, user_id: int = 1, default_model: str | None = None) -> Shown:
    """Run /imagine; the first thing the user was shown. (The services' async Redis lives in one event loop: each
    test runs its steps in one ``asyncio.run``.)"""
    interaction = Interaction(user_id=user_id)
    await _commands(services, default_model).imagine(interaction, prompt)
    return interaction.shown[0]


def _spec(services: BotServices, shown: Shown) -> JobSpec:
    spec = services.queue.load_spec(custom_ids.decode(shown.button_ids[0]).job_id)
    assert spec is not None
    return spec


def _nothing_queued(services: BotServices) -> bool:
    return not services.queue.connection.keys(keys.spec("*"))


def _size(card: ModelCard, aspect: str) -> tuple[int, int]:
    width, height = (int(side) for side in aspect.split(":"))
    return size_for_aspect(Aspect.of(width, height), card.base_resolution, card.size_step)


def test_v_alias_picks_the_model_its_sizes_and_steps(services: BotServices) -> None:
    """`--v a` goes to the demo model's queue, sized for its 128 px base and step 32, with its steps and guidance."""
    publish(services, DEMO)
    spec = _spec(services, asyncio.run(_imagine(services, "a red sun --v a --ar 16:9 --s 0")))
    assert (spec.model, spec.prompt.model, spec.steps, spec.guidance) == ("demo", "demo", 8, 9.0)
    assert (spec.prompt.width, spec.prompt.height) == _size(DEMO, "16:9") == (160, 96)
    assert services.queue.rq_queue("demo", Mode.FAST).job_ids == [spec.id]
    assert services.queue.rq_queue("sd1", Mode.FAST).job_ids == []


def test_niji_and_version_find_models_by_alias_or_name(services: BotServices) -> None:
    """`--niji` is the alias niji (demo here), `--version SD1` the name sd1 (case-insensitively)."""
    publish(services, DEMO)

    async def scenario() -> list[Shown]:
        return [
            await _imagine(services, "a moon --niji --ar 2:3"),
            await _imagine(services, "a moon --version SD1 --ar 2:3", user_id=2),
        ]

    niji, version = (_spec(services, shown) for shown in asyncio.run(scenario()))
    assert (niji.model, (niji.prompt.width, niji.prompt.height)) == ("demo", _size(DEMO, "2:3"))
    assert (version.model, (version.prompt.width, version.prompt.height)) == ("sd1", _size(SD1, "2:3"))


def test_permutations_can_go_to_two_models(services: BotServices) -> None:
    """`--v {a, 5}` makes one job per model, each sized for its own card."""
    publish(services, DEMO)
    interaction = Interaction(user_id=1)
    asyncio.run(_commands(services).imagine(interaction, "a fox --v {a, 5}"))
    specs = [_spec(services, shown) for shown in interaction.shown]
    assert [(s.model, s.prompt.width, s.steps) for s in specs] == [("demo", 128, 8), ("sd1", 512, 20)]


def test_unknown_model_is_answered_with_the_models_online(services: BotServices) -> None:
    """`--v c` (no worker runs it) is answered at once, ephemerally, listing the models online; nothing is queued."""
    publish(services, DEMO)
    answer = asyncio.run(_imagine(services, "a fox --v c"))
    assert (answer.how, answer.title, answer.ephemeral) == ("response", "Model offline", True)
    assert answer.embed is not None and "--v c asks for model `c`" in (answer.embed.description or "")
    fields = {field.name: field.value for field in answer.embed.fields}
    assert fields["Models online"] == "`demo` (a, niji)\n`sd1` (5)"
    assert _nothing_queued(services)


def test_no_model_online_is_answered_at_once(services: BotServices) -> None:
    """With no worker at all (a bot started first), /imagine says no model is online and queues nothing."""
    services.queue.connection.delete(keys.FLEET)

    async def scenario() -> list[Shown]:
        return [await _imagine(services, prompt) for prompt in ("a fox", "a fox --v 5")]

    for answer in asyncio.run(scenario()):
        assert (answer.title, answer.ephemeral) == ("No model online", True)
    assert _nothing_queued(services)


def test_default_model_rule(services: BotServices) -> None:
    """No --v: the user's /settings model, else IMAGINE_DEFAULT_MODEL, else the first model online by name."""
    publish(services, DEMO)

    async def scenario() -> list[Shown]:
        await services.user_prefs.save(2, UserSettings(model="5"))
        return [
            await _imagine(services, "a fox", user_id=1),
            await _imagine(services, "a fox", user_id=2),
            await _imagine(services, "a fox --v a", user_id=2),
            await _imagine(services, "a cat", user_id=3, default_model="SD1"),
        ]

    # "demo" is first by name; user 2 chose sd1 by its alias, but --v wins; the server default counts for user 3.
    assert [_spec(services, shown).model for shown in asyncio.run(scenario())] == ["demo", "sd1", "demo", "sd1"]


def test_an_offline_default_is_refused_not_replaced(services: BotServices) -> None:
    """A /settings model or server default no worker runs is refused (saying whose choice it was), not swapped."""

    async def scenario() -> list[Shown]:
        await services.user_prefs.save(2, UserSettings(model="xl"))
        mine = await _imagine(services, "a fox", user_id=2)
        server = await _imagine(services, "a fox", user_id=1, default_model="flux")
        assert _nothing_queued(services)
        return [mine, server, await _imagine(services, "a fox --v 5", user_id=2)]

    mine, server, explicit = asyncio.run(scenario())
    assert mine.embed is not None and mine.title == "Model offline"
    assert "Your /settings model asks for model `xl`" in (mine.embed.description or "")
    assert server.embed is not None and "This server's default model" in (server.embed.description or "")
    assert _spec(services, explicit).model == "sd1"  # an explicit --v still works


@pytest.mark.parametrize(
    ("prompt", "what"),
    [
        ("a tile --tile", "--tile"),
        ("a fox --no trees", "--no"),
        ("hot:: dog::2", "`::` multi-prompt weights"),
        ("a fox:: trees::-0.5", "negative `::` weights"),
        ("a fox --stylize 250", "--stylize"),
    ],
)
def test_flags_the_family_cannot_honour_are_refused(services: BotServices, prompt: str, what: str) -> None:
    """--tile, --no, `::` weights (negative ones too) and --stylize on a model whose card lacks them are refused,
    naming the flag; nothing queued."""
    publish(services, PLAIN)

    async def scenario() -> list[Shown]:
        refused = await _imagine(services, f"{prompt} --v plain")
        assert _nothing_queued(services)
        return [refused, await _imagine(services, prompt, default_model="sd1")]

    answer, elsewhere = asyncio.run(scenario())
    assert (answer.title, answer.ephemeral) == ("Not supported by this model", True)
    assert answer.embed is not None and (answer.embed.description or "").startswith(f"{what} is not available on")
    assert _spec(services, elsewhere).model == "sd1"  # the same prompt on a model that can


def test_images_past_the_cards_max_side_are_refused(services: BotServices) -> None:
    """A job whose images would be longer than the card's max_side (1344 px > 1024) is refused before queueing."""
    publish(services, PLAIN)

    async def scenario() -> list[Shown]:
        return [
            await _imagine(services, "a fox --v plain"),
            await _imagine(services, "a fox --v plain --ar 16:9", user_id=2),
        ]

    square, wide = asyncio.run(scenario())
    assert _spec(services, square).prompt.width == 1024
    assert (wide.title, wide.ephemeral) == ("Image too large", True)
    assert wide.embed is not None and "1344 px on a side" in (wide.embed.description or "")


def test_settings_panel_offers_the_models_online(services: BotServices) -> None:
    """/settings shows a model select of the server default and each model online; picking one saves it."""
    publish(services, DEMO)
    interaction, pick = Interaction(user_id=4), Interaction(user_id=4, kind=discord.InteractionType.component)

    async def scenario() -> tuple[UserSettings, Shown]:
        await _commands(services).settings(interaction)
        view = interaction.shown[0].kwargs["view"]
        assert isinstance(view, SettingsView)
        select = next(item for item in view.children if getattr(item, "custom_id", "") == "settings:model")
        assert [(o.label, o.value, o.default) for o in select.options] == [
            ("Server default", SERVER_DEFAULT, True),
            ("demo (a, niji)", "a", False),
            ("sd1 (5)", "5", False),
        ]
        await view._on_model(pick, "a")  # what the select's callback does with the picked value
        return await services.user_prefs.load(4), await _imagine(services, "a fox", user_id=4)

    saved, shown = asyncio.run(scenario())
    assert saved.model == "a"
    assert {f.name: f.value for f in pick.shown[0].kwargs["embed"].fields}["Model"] == "`a`"
    assert _spec(services, shown).model == "demo"


def test_settings_panel_keeps_an_offline_choice_visible(services: BotServices) -> None:
    """A saved model no worker runs stays in the select, marked offline, so the user sees why prompts are refused."""
    view = SettingsView(services.user_prefs, 4, UserSettings(model="xl"), [SD1])
    options = [(o.label, o.default) for o in view._models()]
    assert options == [("Server default", False), ("sd1 (5)", False), ("xl (offline)", True)]

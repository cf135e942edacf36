"""Which model draws a job, decided against the live fleet: the cards the workers publish (worker/fleet.py).

A prompt's model is its ``--v``/``--version``/``--niji``, else the user's /settings model, else the server's
``IMAGINE_DEFAULT_MODEL``, else the only model online (with several, the first by name). A chosen default that no
live worker runs is refused, not replaced: a job is never drawn by a model nobody asked for. A follow-up goes to
its parent's model. Everything about the model comes from its card, never from bot settings: ``--ar`` sizes from
its base resolution and size step, steps and guidance from its defaults.

Refused at once, before anything is queued (``ModelRefused``, carrying the answer): no model online at all (a bot
started before any worker answers "No model online" rather than queueing for a model nobody may ever serve), a
model no live worker runs, a flag the family cannot honour (--tile, --no, ``::`` weights), a follow-up it cannot
make (variations and upscales need img2img), and images longer on a side than the card's ``max_side``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import discord

from bot import messages
from bot.blocking import BlockingExecutor
from bot.prompt import ParserOptions, UnknownModel, parse_prompt
from worker.cards import ModelCard, unsupported
from worker.fleet import Fleet, LiveModel
from worker.spec import JobSpec, PromptFields, output_side


class ModelRefused(Exception):
    """A job no live model can take; ``embed`` is the answer for the user, ``offline`` whether the model was."""

    def __init__(self, embed: discord.Embed, *, offline: bool = False):
        super().__init__(embed.title)
        self.embed = embed
        self.offline = offline


@dataclass(frozen=True)
class Choice:
    """One parsed prompt (its ``model`` set to the card's name) and the card of the model that will draw it."""

    fields: PromptFields
    card: ModelCard


class ModelChooser:
    """Reads the live fleet and picks the card for each prompt or follow-up."""

    def __init__(
        self,
        fleet: Fleet,
        blocking: BlockingExecutor,
        default_model: str | None = None,
        limits: ParserOptions | None = None,
    ):
        self.fleet = fleet
        self.blocking = blocking
        self.default_model = default_model  # IMAGINE_DEFAULT_MODEL
        self.limits = limits or ParserOptions()  # prompt length and permutations; sizes come from the cards

    async def live(self) -> list[LiveModel]:
        """The models online now, by name (a few Redis reads, in the blocking pool)."""
        return await self.blocking.run(self.fleet.models)

    def default(self, live: list[LiveModel], preferred: str | None) -> ModelCard:
        """The model of a prompt without --v: ``preferred`` (the user's), the server's default, or the first online.

        Raises ModelRefused when the chosen one is offline, or nothing is online.
        """
        for asked_by, name in (
            ("Your /settings model", preferred),
            ("This server's default model", self.default_model),
        ):
            if name:
                found = find(live, name)
                if found is None:
                    raise _offline(asked_by, name, live)
                return found.card
        if not live:
            raise _offline(None, None, live)
        return live[0].card

    def for_prompt(self, text: str, live: list[LiveModel], preferred: str | None) -> list[Choice]:
        """Parse ``text`` with each expansion sized for the model it goes to.

        Raises PromptError for a prompt that cannot be understood, ModelRefused when its model is not online.
        """
        if not live:
            raise _offline(None, None, live)
        try:
            fallback: ModelCard | None = self.default(live, preferred)
            unavailable = None
        except ModelRefused as exc:  # only matters if an expansion has no --v of its own
            fallback, unavailable = None, exc
        table = _names(live)
        sizing = fallback or live[0].card
        options = dataclasses.replace(
            self.limits,
            base=sizing.base_resolution,
            size_step=sizing.size_step,
            aliases={name: (card.base_resolution, card.size_step) for name, card in table.items()},
        )
        try:
            parsed = parse_prompt(text, options)
        except UnknownModel as exc:
            raise _offline(exc.asked_by, exc.requested, live) from None
        choices = []
        for fields in parsed:
            if fields.model is not None:
                card = table[fields.model]  # the parser answers with the table's own spelling
            elif fallback is not None:
                card = fallback
            else:
                assert unavailable is not None
                raise unavailable
            choices.append(Choice(fields.model_copy(update={"model": card.name}), card))
        return choices

    def for_parent(self, parent: JobSpec, live: list[LiveModel]) -> ModelCard:
        """The card of the model that drew ``parent`` (a follow-up's model); raises ModelRefused when offline."""
        found = next((model for model in live if model.card.name == parent.model), None)
        if found is None:
            raise _offline("This button", parent.model, live)
        return found.card


def find(live: list[LiveModel], name: str) -> LiveModel | None:
    """The live model ``name`` is the name or an alias of (case-insensitively); the first by name if several."""
    return next((model for model in live if model.card.answers_to(name)), None)


def check_job(spec: JobSpec, card: ModelCard) -> None:
    """Refuse (ModelRefused) what ``card``'s model cannot do: a flag its family lacks, or too large an image."""
    if (missing := unsupported(spec.kind, spec.prompt, card.capabilities)) is not None:
        raise ModelRefused(messages.not_supported(missing.flag, card.name, missing.why))
    side = output_side(spec)
    if side > card.max_side:
        raise ModelRefused(messages.too_large(side, card.name, card.max_side))


def labels(live: list[LiveModel]) -> list[str]:
    """Each live model as lists show it: its name and aliases."""
    return [messages.model_label(model.card.name, model.card.aliases) for model in live]


def _offline(asked_by: str | None, name: str | None, live: list[LiveModel]) -> ModelRefused:
    """The refusal for a model (``name``, asked for by ``asked_by``) no live worker runs; with none live at all, the
    plain "No model online"."""
    if not live or asked_by is None or name is None:
        return ModelRefused(messages.no_model_online(), offline=True)
    return ModelRefused(messages.model_offline(asked_by, name, labels(live)), offline=True)


def _names(live: list[LiveModel]) -> dict[str, ModelCard]:
    """Every name and alias of the live models → its card. Names match case-insensitively, so where two models
    claim one (a configuration mistake), the first by name keeps it."""
    table: dict[str, ModelCard] = {}
    taken: set[str] = set()
    for model in live:
        for name in (model.card.name, *model.card.aliases):
            if name.casefold() not in taken:
                taken.add(name.casefold())
                table[name] = model.card
    return table

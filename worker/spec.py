"""The job spec: the versioned, JSON-only contract between the bot and the workers.

Everything a worker needs to make a job's images is in its spec, so a spec kept in Redis is enough to
regenerate the same pixels later. Specs travel as JSON (never pickle); unknown fields and versions are
rejected, so an old worker never half-understands a newer bot.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# 2 added ``model`` (required). A version-1 spec names no model, so neither its queue nor the worker able to redraw
# its pixels for a follow-up is known: it is refused like any unknown version (its buttons answer "Job expired").
SPEC_VERSION = 2

MAX_SEED = 2**32 - 1

# --quality's values. PEP 586 allows no float literals, so mypy is shown a float; pydantic checks the Literal.
if TYPE_CHECKING:
    Quality = float
else:
    Quality = Literal[0.25, 0.5, 1.0, 2.0]


class JobSpecError(ValueError):
    """A job spec that cannot be accepted; ``message`` is safe to show a user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class JobKind(StrEnum):
    IMAGINE = "imagine"
    VARIATION = "variation"
    UPSCALE = "upscale"
    REROLL = "reroll"


class Mode(StrEnum):
    FAST = "fast"
    RELAX = "relax"


class Strength(StrEnum):
    """How far a follow-up moves from its source: variations are strong|subtle, upscales subtle|creative."""

    STRONG = "strong"
    SUBTLE = "subtle"
    CREATIVE = "creative"


_STRENGTHS: dict[JobKind, frozenset[Strength]] = {
    JobKind.VARIATION: frozenset({Strength.STRONG, Strength.SUBTLE}),
    JobKind.UPSCALE: frozenset({Strength.SUBTLE, Strength.CREATIVE}),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeightedPrompt(_Strict):
    """One part of a multi-prompt (``hot:: dog::2``)."""

    text: str
    weight: float = 1.0


class PromptFields(_Strict):
    """A parsed /imagine prompt: what the user asked for, after flags and defaults.

    This is exactly the object ``imagine parse --json`` prints for each expanded job.
    """

    prompts: list[WeightedPrompt] = Field(min_length=1)
    negative: str | None = None
    aspect: str = "1:1"
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    stylize: int = Field(default=100, ge=0, le=1000)
    chaos: int = Field(default=0, ge=0, le=100)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    quality: Quality = 1.0
    stop: int = Field(default=100, ge=10, le=100)
    tile: bool = False
    repeat: int = Field(default=1, ge=1, le=4)
    raw: bool = False
    mode: Mode | None = None
    model: str | None = None

    @property
    def text(self) -> str:
        """The prompt as one line, with ``::`` weights where they are not 1."""
        if len(self.prompts) == 1 and self.prompts[0].weight == 1.0:
            return self.prompts[0].text
        return " ".join(f"{p.text}::{p.weight:g}" for p in self.prompts)


class Requester(_Strict):
    """Who asked, and where to deliver: ``guild_id`` is None in a DM."""

    user_id: int
    channel_id: int
    guild_id: int | None = None


class Parent(_Strict):
    """The job and image (1-4; 1 for an upscale's single image) a follow-up starts from."""

    job_id: str
    index: int = Field(ge=1, le=4)


class JobSpec(_Strict):
    """One unit of work for a worker; ``model`` is the name on the card of the model that must draw it."""

    version: int = SPEC_VERSION
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    kind: JobKind
    model: str = Field(min_length=1)
    prompt: PromptFields
    seed: int = Field(ge=0, le=MAX_SEED)
    steps: int = Field(ge=1, le=200)
    guidance: float = Field(ge=0, le=30)
    requester: Requester
    mode: Mode = Mode.FAST
    strength: Strength | None = None
    parent: Parent | None = None

    @model_validator(mode="before")
    @classmethod
    def _check_version(cls, data: Any) -> Any:
        # Before the fields: a spec of another version is refused as such, not for the fields it lacks.
        version = data.get("version", SPEC_VERSION) if isinstance(data, dict) else SPEC_VERSION
        if version != SPEC_VERSION:
            raise ValueError(f"unsupported job spec version {version} (this worker speaks {SPEC_VERSION})")
        return data

    @model_validator(mode="after")
    def _check_kind(self) -> JobSpec:
        allowed = _STRENGTHS.get(self.kind)
        if allowed is None and self.strength is not None:
            raise ValueError(f"{self.kind} jobs take no strength")
        if allowed is not None and self.strength not in allowed:
            names = " or ".join(sorted(allowed))
            raise ValueError(f"{self.kind} jobs need strength {names}, not {self.strength}")
        follow_up = self.kind is not JobKind.IMAGINE
        if follow_up and self.parent is None:
            raise ValueError(f"{self.kind} jobs must name their parent job")
        if not follow_up and self.parent is not None:
            raise ValueError("imagine jobs have no parent")
        return self

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, data: str | bytes | dict[str, Any]) -> JobSpec:
        """Parse and validate a spec; raises JobSpecError with a readable reason."""
        try:
            if isinstance(data, dict):
                return cls.model_validate(data)
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise JobSpecError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "spec"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return "invalid job spec: " + "; ".join(parts)


class GuidanceCurve(_Strict):
    """Stylize → classifier-free guidance for one model family: the scale at --stylize 0, 100 (the default) and
    1000, piecewise linear between.

    Midjourney's --stylize trades prompt literalness for the house aesthetic; here low stylize follows the
    prompt hard (high guidance) and high stylize relaxes guidance while the engine blends in more house style.
    Each family publishes its own curve on its model card (a guidance-distilled model's is flat).
    """

    at_0: float = Field(ge=0, le=30)
    at_100: float = Field(ge=0, le=30)
    at_1000: float = Field(ge=0, le=30)

    def at(self, stylize: int) -> float:
        """The guidance scale for a --stylize value (0–1000)."""
        if not 0 <= stylize <= 1000:
            raise ValueError(f"stylize {stylize} is outside 0–1000")
        points = ((0, self.at_0), (100, self.at_100), (1000, self.at_1000))
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            if stylize <= x1:
                return round(y0 + (y1 - y0) * (stylize - x0) / (x1 - x0), 4)
        raise AssertionError("unreachable")


# Stable Diffusion 1/2, SDXL and the demo model: 0 → 9.0, 100 → 7.0, 1000 → 4.0.
SD_GUIDANCE = GuidanceCurve(at_0=9.0, at_100=7.0, at_1000=4.0)


def guidance_for_stylize(stylize: int, curve: GuidanceCurve = SD_GUIDANCE) -> float:
    """The guidance scale for a --stylize value (0–1000) on a family's curve."""
    return curve.at(stylize)


# An upscale doubles its source's sides (the engine's factor; the bot checks the result against the card's max_side).
UPSCALE_FACTOR = 2


def output_side(spec: JobSpec) -> int:
    """The longest side of the images ``spec`` makes: an upscale doubles its source cell, which is the prompt's size."""
    side = max(spec.prompt.width, spec.prompt.height)
    return side * UPSCALE_FACTOR if spec.kind is JobKind.UPSCALE else side


# --quality multiplies the configured step count.
def steps_for_quality(base_steps: int, quality: float) -> int:
    """Denoising steps for --quality (.25, .5, 1, 2) given the configured base step count."""
    return max(1, round(base_steps * quality))


# The one place the rules above are applied: every spec made from a prompt (the bot, `imagine generate`, the
# benchmarks, the model tests) comes from these two factories, so they all fill seed, steps and guidance alike.


def _new_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


def imagine_spec(
    fields: PromptFields,
    requester: Requester,
    mode: Mode,
    base_steps: int,
    *,
    model: str,
    seed: int | None = None,
    guidance: GuidanceCurve = SD_GUIDANCE,
) -> JobSpec:
    """The spec of an imagine job for a parsed prompt, to be drawn by ``model`` (its card's name).

    The seed is the prompt's ``--seed``, else ``seed``, else a random one; steps are ``base_steps`` (the model's
    default) scaled by ``--quality``; guidance follows ``--stylize`` on the model's ``guidance`` curve; the
    prompt's ``--fast``/``--relax`` wins over ``mode``.
    """
    return JobSpec(
        kind=JobKind.IMAGINE,
        model=model,
        prompt=fields,
        seed=_pick_seed(fields.seed, seed),
        steps=steps_for_quality(base_steps, fields.quality),
        guidance=guidance_for_stylize(fields.stylize, guidance),
        requester=requester,
        mode=fields.mode or mode,
    )


def follow_up_spec(
    parent: JobSpec,
    kind: JobKind,
    strength: Strength | None,
    index: int,
    requester: Requester,
    mode: Mode,
    base_steps: int,
    *,
    seed: int | None = None,
) -> JobSpec:
    """The spec of a follow-up (variation, upscale, reroll) of image ``index`` of ``parent``, for ``requester``.

    It keeps the parent's model, prompt and guidance; steps are ``base_steps`` scaled by the prompt's
    ``--quality``. The seed is ``seed`` when given, else the parent's for an upscale and a random one for the
    others. Index 0 (a reroll of the whole grid) names image 1. An upscale of an upscale is drawn again from the
    first upscale's source cell (its parent is the upscale's own parent and index), so sizes never double twice.
    Raises ValueError for an imagine ``kind`` (it has no parent).
    """
    if kind is JobKind.IMAGINE:
        raise ValueError(f"kind {kind} is not a follow-up")
    if seed is None:
        seed = parent.seed if kind is JobKind.UPSCALE else _new_seed()
    source = Parent(job_id=parent.id, index=max(1, index))
    if kind is JobKind.UPSCALE and parent.kind is JobKind.UPSCALE and parent.parent is not None:
        source = parent.parent
    return JobSpec(
        kind=kind,
        model=parent.model,
        prompt=parent.prompt,
        seed=seed,
        steps=steps_for_quality(base_steps, parent.prompt.quality),
        guidance=parent.guidance,
        requester=requester,
        mode=mode,
        strength=strength,
        parent=source,
    )


def _pick_seed(prompt_seed: int | None, default: int | None) -> int:
    if prompt_seed is not None:
        return prompt_seed
    return default if default is not None else _new_seed()

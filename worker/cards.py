"""The model card: what a worker's loaded model is and can do, as the bot needs to know it.

A worker publishes its engine's card to Redis when it has loaded (and keeps it fresh while it lives); the bot
resolves ``--v``/``--niji``/``--version`` and the /settings model choice against the live cards, takes image
sizes for ``--ar`` from the card, and refuses a flag the family cannot honour before anything is queued.
Cards travel as JSON; unknown fields are rejected, so a newer worker's card is never half-understood.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from worker.spec import GuidanceCurve, JobKind, PromptFields


class Capabilities(BaseModel):
    """Which prompt features the family honours; the bot refuses the others with a clear message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    negative_prompt: bool = True  # --no, parts with a negative ``::`` weight, and a default negative
    weights: bool = True  # ``::`` multi-prompt weights
    stylize: bool = True  # --stylize other than 100 (a house style blended in, and/or a guidance curve)
    tile: bool = True  # --tile (seamless padding of the denoiser's convolutions)
    img2img: bool = True  # variations and upscales
    inpaint: bool = False  # Vary (Region) and the editing tools


@dataclass(frozen=True)
class Unsupported:
    """A flag a family cannot honour: the flag as the user names it, and why (a clause starting with "it")."""

    flag: str
    why: str


# The stylize a prompt has when it says none: the one value a family without a stylize capability accepts.
DEFAULT_STYLIZE: int = PromptFields.model_fields["stylize"].default


def unsupported(kind: JobKind, prompt: PromptFields, can: Capabilities) -> Unsupported | None:
    """The first thing in a job that ``can`` does not cover, or None. The one rule for both sides: the bot refuses
    such a job before queueing it, and the engine refuses it (code ``unsupported``) should one arrive anyway."""
    if prompt.negative and prompt.negative.strip() and not can.negative_prompt:
        return Unsupported("--no", "it has no negative prompt")
    if any(part.weight < 0 for part in prompt.prompts) and not can.negative_prompt:
        return Unsupported("negative `::` weights", "it has no negative prompt")
    if len(prompt.prompts) > 1 and not can.weights:
        return Unsupported("`::` multi-prompt weights", "it cannot blend several prompts")
    if prompt.stylize != DEFAULT_STYLIZE and not can.stylize:
        return Unsupported("--stylize", "its guidance is fixed and it has no house style to blend")
    if prompt.tile and not can.tile:
        return Unsupported("--tile", "it cannot make seamless tiles")
    if kind in (JobKind.VARIATION, JobKind.UPSCALE) and not can.img2img:
        return Unsupported("Variations" if kind is JobKind.VARIATION else "Upscales", "it cannot start from an image")
    return None


class ModelCard(BaseModel):
    """One loaded model, as its workers advertise it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)  # the name jobs are routed by (IMAGINE_MODEL, or its alias)
    aliases: tuple[str, ...] = ()  # other names it answers to (``--v 6``, ``--niji``, an admin's alias)
    family: str  # "demo", "sd1", "sd2", "sdxl", "sd3", "flux", …
    base_resolution: int = Field(gt=0)  # native side: --ar sizes keep about base² pixels
    size_step: int = Field(gt=0)  # sides are multiples of this
    max_side: int = Field(gt=0)  # no job (upscales included) may ask for a longer side
    default_steps: int = Field(ge=1, le=200)  # denoising steps at --quality 1
    guidance: GuidanceCurve  # --stylize → guidance scale
    capabilities: Capabilities = Capabilities()

    @model_validator(mode="after")
    def _check_sizes_and_name(self) -> ModelCard:
        # The bot sizes --ar from base and step (worker.sizes refuses a base off the step) and never asks for a
        # side past max_side; a card that breaks either is refused where it is made, not on a user's prompt.
        if self.base_resolution % self.size_step:
            raise ValueError(f"base_resolution {self.base_resolution} is not a multiple of size_step {self.size_step}")
        if self.max_side < self.base_resolution:
            raise ValueError(f"max_side {self.max_side} is below base_resolution {self.base_resolution}")
        # The name becomes part of RQ queue names, which RQ joins with commas in its worker registry.
        if "," in self.name:
            raise ValueError(f"model name {self.name!r} has a comma; RQ queue names cannot")
        return self

    def answers_to(self, name: str) -> bool:
        """Whether ``name`` (case-insensitive) is this model's name or one of its aliases."""
        wanted = name.strip().casefold()
        return wanted == self.name.casefold() or any(wanted == alias.casefold() for alias in self.aliases)

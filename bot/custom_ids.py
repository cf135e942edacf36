"""The layout of every button's ``custom_id``: the one place that writes and reads them.

A custom_id carries all the state a button needs, so buttons keep working after a restart:
``im:<action>:<job id>:<index>``, e.g. ``im:u:3f2a…:2`` (at most 100 characters; a 32-hex job id makes 41).
Reading is strict: the index is written in ASCII digits with no sign, within the action's own range (U/V 1–4,
the buttons under an upscale 1, 🔄 and ❌ 0), so a forged or mangled id is refused before anything is queued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from worker.spec import JobKind

PREFIX = "im"
MAX_LENGTH = 100
# The DynamicItem template: anything under our prefix, so malformed ids still reach us and get an answer.
TEMPLATE = rf"{PREFIX}:(?P<rest>.*)"

_JOB_ID = re.compile(r"[0-9a-f]{32}")
# ``int()`` also reads "+2", " 2" and non-ASCII digits such as "٢": only plain ASCII digits are ours.
_INDEX = re.compile(r"[0-9]")


class Action(StrEnum):
    """What a button does; the value is its short code in the custom_id."""

    UPSCALE = "u"  # U1–U4 on a grid
    VARY = "v"  # V1–V4 on a grid (strength from the presser's /settings)
    REROLL = "r"  # 🔄
    VARY_STRONG = "vs"  # on an upscale
    VARY_SUBTLE = "vt"
    UPSCALE_SUBTLE = "us"
    UPSCALE_CREATIVE = "uc"
    CANCEL = "x"  # ❌: cancel a running job, or delete a result (owner only)


# The job kinds whose messages carry each action's button: U/V/🔄 sit under four-image jobs, the Vary/Upscale
# (Strong/Subtle/Creative) buttons under an upscale, ❌ under everything.
_GRID_KINDS = frozenset({JobKind.IMAGINE, JobKind.VARIATION, JobKind.REROLL})
_PARENT_KINDS: dict[Action, frozenset[JobKind]] = {
    Action.UPSCALE: _GRID_KINDS,
    Action.VARY: _GRID_KINDS,
    Action.REROLL: _GRID_KINDS,
    Action.VARY_STRONG: frozenset({JobKind.UPSCALE}),
    Action.VARY_SUBTLE: frozenset({JobKind.UPSCALE}),
    Action.UPSCALE_SUBTLE: frozenset({JobKind.UPSCALE}),
    Action.UPSCALE_CREATIVE: frozenset({JobKind.UPSCALE}),
    Action.CANCEL: frozenset(JobKind),
}
# Each action's image indexes: one of four cells, the single upscaled image, or the whole job.
_INDEXES: dict[Action, range] = {
    Action.UPSCALE: range(1, 5),
    Action.VARY: range(1, 5),
    Action.REROLL: range(0, 1),
    Action.VARY_STRONG: range(1, 2),
    Action.VARY_SUBTLE: range(1, 2),
    Action.UPSCALE_SUBTLE: range(1, 2),
    Action.UPSCALE_CREATIVE: range(1, 2),
    Action.CANCEL: range(0, 1),
}


def acts_on(action: Action, kind: JobKind) -> bool:
    """Whether ``action``'s button belongs under a job of this kind (U4 under an upscale does not)."""
    return kind in _PARENT_KINDS[action]


class CustomIdError(ValueError):
    """A custom_id that is not one of ours, or is malformed (e.g. from an older bot version)."""


@dataclass(frozen=True)
class ButtonId:
    """What a button means: an action on one image (1–4; 0 for the whole job) of one job."""

    action: Action
    job_id: str
    index: int = 0

    def __post_init__(self) -> None:
        if not _JOB_ID.fullmatch(self.job_id):
            raise CustomIdError(f"bad job id {self.job_id!r}")
        if self.index not in _INDEXES[self.action]:
            raise CustomIdError(f"bad image index {self.index} for {self.action.name}")

    def encode(self) -> str:
        """The custom_id string."""
        return f"{PREFIX}:{self.action}:{self.job_id}:{self.index}"


def is_ours(custom_id: str) -> bool:
    """Whether a custom_id is under our prefix (well-formed or not), rather than another app's: matched as
    discord.py matches a DynamicItem's template, so exactly these can be ``JobButton``s."""
    return re.match(TEMPLATE, custom_id) is not None


def encode(action: Action, job_id: str, index: int = 0) -> str:
    """The custom_id of a button; raises CustomIdError for a malformed job id or index."""
    return ButtonId(action, job_id, index).encode()


def decode(custom_id: str) -> ButtonId:
    """Read a custom_id written by ``encode``; raises CustomIdError for anything else."""
    parts = custom_id.split(":")
    if len(custom_id) > MAX_LENGTH or len(parts) != 4 or parts[0] != PREFIX:
        raise CustomIdError(f"not an imagine button: {custom_id[:40]!r}")
    _, action, job_id, index = parts
    if not _INDEX.fullmatch(index):
        raise CustomIdError(f"malformed imagine button {custom_id[:60]!r}: bad image index {index[:8]!r}")
    try:
        return ButtonId(Action(action), job_id, int(index))
    except ValueError as exc:
        raise CustomIdError(f"malformed imagine button {custom_id[:60]!r}: {exc}") from None

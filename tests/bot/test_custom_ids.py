"""The custom_id layout: round trips, length limit, and refusal of malformed ids."""

from __future__ import annotations

import re

import pytest

from bot import custom_ids
from bot.custom_ids import Action, ButtonId, CustomIdError
from worker.spec import JobKind

JOB = "0123456789abcdef0123456789abcdef"


# Each action with the indexes its buttons carry.
INDEXES = {
    Action.UPSCALE: [1, 2, 3, 4],
    Action.VARY: [1, 2, 3, 4],
    Action.REROLL: [0],
    Action.VARY_STRONG: [1],
    Action.VARY_SUBTLE: [1],
    Action.UPSCALE_SUBTLE: [1],
    Action.UPSCALE_CREATIVE: [1],
    Action.CANCEL: [0],
}


@pytest.mark.parametrize(("action", "index"), [(a, i) for a, indexes in INDEXES.items() for i in indexes])
def test_round_trip(action: Action, index: int) -> None:
    """Every action encodes, at each of its indexes, to a custom_id that decodes to the same button."""
    encoded = custom_ids.encode(action, JOB, index)
    assert custom_ids.decode(encoded) == ButtonId(action, JOB, index)


@pytest.mark.parametrize(
    "index",
    ["0", "5", "+2", "-1", " 2", "2 ", "\u0662", "\uff12", "02", "1_0", ""],
)
def test_index_is_strict(index: str) -> None:
    """U's index is one plain ASCII digit 1-4: no zero, sign, space, Arabic-Indic or full-width digit."""
    with pytest.raises(CustomIdError):
        custom_ids.decode(f"im:u:{JOB}:{index}")


@pytest.mark.parametrize(
    "custom_id",
    [f"im:r:{JOB}:1", f"im:x:{JOB}:3", f"im:vs:{JOB}:2", f"im:uc:{JOB}:0", f"im:v:{JOB}:0"],
)
def test_each_action_has_its_own_index_range(custom_id: str) -> None:
    """🔄 and ❌ act on the whole job (0), the buttons under an upscale on its one image (1), U/V on cells 1-4."""
    with pytest.raises(CustomIdError):
        custom_ids.decode(custom_id)


def test_actions_belong_under_their_kinds() -> None:
    """U/V/🔄 act on four-image jobs, the Vary/Upscale (…) buttons on upscales, ❌ on any job."""
    assert custom_ids.acts_on(Action.UPSCALE, JobKind.IMAGINE) and custom_ids.acts_on(Action.VARY, JobKind.REROLL)
    assert not custom_ids.acts_on(Action.UPSCALE, JobKind.UPSCALE)
    assert custom_ids.acts_on(Action.UPSCALE_CREATIVE, JobKind.UPSCALE)
    assert not custom_ids.acts_on(Action.VARY_SUBTLE, JobKind.VARIATION)
    assert all(custom_ids.acts_on(Action.CANCEL, kind) for kind in JobKind)


def test_fits_discord_limit() -> None:
    """The longest custom_id stays within Discord's 100 characters."""
    longest = max(len(custom_ids.encode(a, JOB, max(INDEXES[a]))) for a in Action)
    assert longest <= custom_ids.MAX_LENGTH


def test_template_matches_all_of_ours() -> None:
    """The DynamicItem template matches every id under our prefix, malformed ones included."""
    pattern = re.compile(custom_ids.TEMPLATE)
    assert pattern.fullmatch(custom_ids.encode(Action.UPSCALE, JOB, 1))
    assert pattern.fullmatch("im:zz:nope")
    assert not pattern.fullmatch("settings:mode:fast")


@pytest.mark.parametrize(
    "bad",
    [
        "im:u:notahexjob:1",
        f"im:q:{JOB}:1",
        f"im:u:{JOB}:9",
        f"im:u:{JOB}",
        f"im:u:{JOB}:x",
        f"xx:u:{JOB}:1",
        "im:" * 40,
    ],
)
def test_malformed_ids_are_refused(bad: str) -> None:
    """A malformed or foreign custom_id raises CustomIdError, never anything else."""
    with pytest.raises(CustomIdError):
        custom_ids.decode(bad)


def test_encode_refuses_bad_input() -> None:
    """Encoding checks the job id and the image index."""
    with pytest.raises(CustomIdError):
        custom_ids.encode(Action.VARY, "not-a-job", 1)
    with pytest.raises(CustomIdError):
        custom_ids.encode(Action.VARY, JOB, 5)

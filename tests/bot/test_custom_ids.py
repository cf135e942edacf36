"""The custom_id layout: round trips, length limit, and refusal of malformed ids."""

from __future__ import annotations

import re

import pytest

from bot import custom_ids
from bot.custom_ids import Action, ButtonId, CustomIdError

JOB = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("action", list(Action))
def test_round_trip(action: Action) -> None:
    """Every action encodes to a custom_id that decodes to the same button."""
    encoded = custom_ids.encode(action, JOB, 3)
    assert custom_ids.decode(encoded) == ButtonId(action, JOB, 3)


def test_fits_discord_limit() -> None:
    """The longest custom_id stays within Discord's 100 characters."""
    longest = max(len(custom_ids.encode(a, JOB, 4)) for a in Action)
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

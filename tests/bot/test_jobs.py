"""Building job specs from prompts and button presses."""

from __future__ import annotations

import pytest

from bot.custom_ids import Action
from bot.jobs import follow_up_spec, imagine_spec
from bot.prompt import ParserOptions, parse_prompt
from worker.spec import JobKind, Mode, Requester, Strength

ALICE = Requester(user_id=1, channel_id=10, guild_id=20)
BOB = Requester(user_id=2, channel_id=10, guild_id=20)


def _parent(text: str = "a red fox --seed 7 --relax"):
    return imagine_spec(parse_prompt(text, ParserOptions())[0], ALICE, Mode.FAST, 20)


def test_imagine_spec_uses_prompt_seed_and_mode() -> None:
    """The prompt's seed and --relax win over the user's default mode."""
    spec = _parent()
    assert (spec.seed, spec.mode, spec.kind) == (7, Mode.RELAX, JobKind.IMAGINE)


def test_random_seed_without_one() -> None:
    """Without --seed each job gets its own random seed."""
    assert len({_parent("a fox").seed for _ in range(5)}) > 1


@pytest.mark.parametrize(
    ("action", "kind", "strength"),
    [
        (Action.UPSCALE, JobKind.UPSCALE, Strength.SUBTLE),
        (Action.VARY, JobKind.VARIATION, Strength.SUBTLE),  # the presser's setting below
        (Action.VARY_STRONG, JobKind.VARIATION, Strength.STRONG),
        (Action.UPSCALE_CREATIVE, JobKind.UPSCALE, Strength.CREATIVE),
    ],
)
def test_follow_ups(action: Action, kind: JobKind, strength: Strength | None) -> None:
    """Each button makes the right kind of job, owned by the presser, from the parent's prompt and image."""
    parent = _parent()
    spec = follow_up_spec(parent, action, 2, BOB, Mode.FAST, Strength.SUBTLE, 20)
    assert (spec.kind, spec.strength, spec.requester, spec.mode) == (kind, strength, BOB, Mode.FAST)
    assert spec.prompt == parent.prompt and spec.parent.job_id == parent.id
    assert spec.parent.index == 2


def test_reroll_is_the_same_prompt_from_a_new_seed() -> None:
    """🔄 makes a reroll job of the same prompt with a new seed, owned by the presser, naming its parent."""
    parent = _parent()
    spec = follow_up_spec(parent, Action.REROLL, 0, BOB, Mode.FAST, Strength.STRONG, 20)
    assert (spec.kind, spec.requester, spec.prompt) == (JobKind.REROLL, BOB, parent.prompt)
    assert spec.parent.job_id == parent.id and spec.strength is None and spec.seed != parent.seed

"""What each button asks for, and the job record made from a spec."""

from __future__ import annotations

import pytest

from bot.custom_ids import Action
from bot.jobs import JobRecord, follow_up_kind
from bot.prompt import ParserOptions, parse_prompt
from worker.spec import JobKind, JobSpec, Mode, Requester, Strength, follow_up_spec, imagine_spec

ALICE = Requester(user_id=1, channel_id=10, guild_id=20)
BOB = Requester(user_id=2, channel_id=10, guild_id=20)


def _parent(text: str = "a red fox --seed 7 --relax") -> JobSpec:
    return imagine_spec(parse_prompt(text, ParserOptions())[0], ALICE, Mode.FAST, 20, model="sd1")


@pytest.mark.parametrize(
    ("action", "kind", "strength"),
    [
        (Action.UPSCALE, JobKind.UPSCALE, Strength.SUBTLE),
        (Action.VARY, JobKind.VARIATION, Strength.SUBTLE),  # the presser's setting below
        (Action.VARY_STRONG, JobKind.VARIATION, Strength.STRONG),
        (Action.VARY_SUBTLE, JobKind.VARIATION, Strength.SUBTLE),
        (Action.UPSCALE_SUBTLE, JobKind.UPSCALE, Strength.SUBTLE),
        (Action.UPSCALE_CREATIVE, JobKind.UPSCALE, Strength.CREATIVE),
        (Action.REROLL, JobKind.REROLL, None),
    ],
)
def test_follow_ups(action: Action, kind: JobKind, strength: Strength | None) -> None:
    """Each button makes the right kind of job, owned by the presser, from the parent's prompt and image."""
    assert follow_up_kind(action, Strength.SUBTLE) == (kind, strength)
    parent = _parent()
    spec = follow_up_spec(parent, *follow_up_kind(action, Strength.SUBTLE), 2, BOB, Mode.FAST, 20)
    assert (spec.kind, spec.strength, spec.requester, spec.mode) == (kind, strength, BOB, Mode.FAST)
    assert spec.prompt == parent.prompt and spec.parent is not None and spec.parent.job_id == parent.id


def test_plain_vary_follows_the_pressers_setting() -> None:
    """V1–V4 make strong or subtle variations as the presser's /settings say."""
    assert follow_up_kind(Action.VARY, Strength.STRONG) == (JobKind.VARIATION, Strength.STRONG)


def test_cancel_is_not_a_follow_up() -> None:
    """❌ asks for no job."""
    with pytest.raises(KeyError):
        follow_up_kind(Action.CANCEL, Strength.STRONG)


def test_record_for_spec() -> None:
    """A job's record names the spec's requester, kind and mode, with the prompt as shown and the pressed image."""
    parent = _parent()
    record = JobRecord.for_spec(parent)
    assert (record.job_id, record.kind, record.mode) == (parent.id, JobKind.IMAGINE, Mode.RELAX)
    assert (record.user_id, record.channel_id, record.guild_id) == (1, 10, 20)
    assert (record.prompt, record.index, record.reply_to, record.message_id) == ("a red fox", 0, None, None)
    spec = follow_up_spec(parent, JobKind.UPSCALE, Strength.SUBTLE, 3, BOB, Mode.FAST, 20)
    record = JobRecord.for_spec(spec, prompt="a red fox --seed 7", index=3, reply_to=99)
    assert (record.user_id, record.kind, record.prompt, record.index, record.reply_to) == (
        2,
        JobKind.UPSCALE,
        "a red fox --seed 7",
        3,
        99,
    )

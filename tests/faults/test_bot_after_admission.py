"""A failure after a job is admitted gives one answer, never a phantom job (issue 14, bot defect 5).

Either the user gets the job (its message, then its result), or the job is cancelled, its slot freed and its
result never posted, and the user is told so once. The emulator refuses the answer that would show the job (a
400, as Discord refuses a body), or the pressed message carries a button that is not ours next to ours.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.models import Message, User
from tests.e2e.stack import Stack, job_of, labels
from tests.faults.bot_stack import results
from worker.events import EventLog
from worker.limits import Admission, Limits
from worker.spec import JobKind, JobSpec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
FOLLOWUP = "POST /webhooks/{webhook_id}/{webhook_token}"
PER_USER = 2  # concurrent 1 + queued 1


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    limits = {"IMAGINE_CONCURRENT_LIMIT": "1", "IMAGINE_QUEUED_LIMIT": "1", "IMAGINE_QUEUE_CAP": "100"}
    with Stack(queue_env=limits) as s:
        yield s


def _specs(stack: Stack, user: User, kind: JobKind) -> list[JobSpec]:
    """The user's jobs of a kind, from their kept specs."""
    specs = [JobSpec.from_json(stack.redis.get(key)) for key in stack.redis.scan_iter("imagine:spec:*")]
    return [s for s in specs if s.requester.user_id == user.id and s.kind is kind]


def _in_flight(stack: Stack, user: User) -> int:
    return Admission(stack.redis, Limits()).in_flight(user.id)


def _answers(stack: Stack, interaction_id: int) -> list[Message]:
    """Every message the interaction's answers made (its response and follow-ups), visible to anyone."""
    interaction = stack.discord.world.interactions[interaction_id]
    made = [interaction.original, *interaction.followups]
    return [m for m in made if m is not None and m is not interaction.message]


def _assert_withdrawn(stack: Stack, spec: JobSpec, user: User) -> None:
    """The job ended cancelled, before any worker ran it, and holds no slot."""
    outcome = EventLog(stack.redis).outcome(spec.id)
    assert outcome is not None and outcome["status"] == "cancelled", (outcome, stack.bot.output()[-3000:])
    assert _in_flight(stack, user) == 0


def test_imagine_whose_answer_discord_refuses_is_withdrawn(stack: Stack) -> None:
    """/imagine answered with a 400: the job is cancelled and its slot freed; the user is told once; the user can
    queue their full limit again at once; the cancelled job's result never appears."""
    user = stack.discord.add_user("dora")
    stack.discord.world.add_member(stack.guild, user)
    stack.worker.pause()
    try:
        stack.discord.force_error(CALLBACK, message="Invalid Form Body: content: Must be 2000 or fewer in length.")
        interaction = stack.slash("imagine", user, prompt="a refused answer")
        answer = stack.original(interaction)
        [spec] = _specs(stack, user, JobKind.IMAGINE)
        _assert_withdrawn(stack, spec, user)
        assert answer.ephemeral and answer.embeds[0]["title"] == "Internal error"
        assert "cancelled" in answer.embeds[0]["description"]
        assert _answers(stack, interaction.id) == [answer]
        again = [stack.original(stack.slash("imagine", user, prompt=f"again {n}")) for n in range(PER_USER)]
        assert all(m.content.endswith("(Waiting to start)") for m in again), [m.content for m in again]
    finally:
        stack.worker.resume()
    stack.wait(lambda: len(results(stack, "again")) == PER_USER, 60, "the later jobs delivered")
    assert not any(job_of(m) == spec.id for m in stack.messages() if m.buttons)
    assert not stack.discord.pop_violations()


def test_a_follow_up_whose_message_discord_refuses_is_withdrawn(stack: Stack) -> None:
    """U1 whose job message is refused: the upscale is cancelled and its slot freed, the user told once."""
    user = stack.discord.add_user("eve")
    stack.discord.world.add_member(stack.guild, user)
    stack.slash("imagine", user, prompt="an eve grid")
    grid = stack.wait_message(lambda m: "an eve grid" in m.content and "U1" in labels(m))
    stack.worker.pause()
    try:
        stack.discord.force_error(FOLLOWUP, message="Invalid Form Body")
        click = stack.click(grid, "U1", user)
        stack.wait(lambda: _specs(stack, user, JobKind.UPSCALE) and _answers(stack, click.id), 10, "an answer")
        [spec] = _specs(stack, user, JobKind.UPSCALE)
        stack.wait(lambda: EventLog(stack.redis).outcome(spec.id), 10, "the upscale to end")
        _assert_withdrawn(stack, spec, user)
        [answer] = _answers(stack, click.id)
        assert answer.ephemeral and answer.embeds[0]["title"] == "Internal error"
    finally:
        stack.worker.resume()
    assert not stack.discord.pop_violations()


def test_a_button_next_to_a_foreign_one_makes_its_job(stack: Stack) -> None:
    """U1 on a message that also carries another app's button: the job is shown and delivered, never an error; the
    foreign button stays as it was."""
    user = stack.discord.add_user("finn")
    stack.discord.world.add_member(stack.guild, user)
    stack.slash("imagine", user, prompt="a finn grid")
    grid = stack.wait_message(lambda m: "a finn grid" in m.content and "U1" in labels(m))
    foreign = {"type": 2, "style": 2, "label": "Help", "custom_id": "helpdesk:open"}
    ours = dict(grid.buttons[0])
    row = {"type": 1, "components": [ours, foreign]}

    async def post() -> Message:
        return stack.discord.world.post_message(
            stack.channel, stack.discord.bot, content="a finn grid, again", components=[row]
        )

    mixed = stack.run(post())
    click = stack.click(mixed, "U1", user)
    upscale = stack.wait_message(lambda m: "Upscaling image #1" not in m.content and "Vary (Strong)" in labels(m))
    assert f"<@{user.id}>" in upscale.content
    answers = _answers(stack, click.id)
    assert not any(m.embeds and m.embeds[0].get("title") == "Internal error" for m in answers), answers
    assert labels(mixed) == ["U1", "Help"] and mixed.buttons[1]["custom_id"] == "helpdesk:open"
    assert not stack.discord.pop_violations()

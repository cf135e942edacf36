"""End to end: the emulator, the real bot process, Redis and a real worker process with the tiny engine.

/imagine with progress and a grid, every button, /settings, /info, errors, ❌, a DM and a 429 from Discord.
Every test ends with the emulator's check that each request the bot sent followed Discord's rules and
validated against Discord's OpenAPI spec (the autouse fixture in conftest).
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.stack import BANNED, Stack, job_of, labels
from tests.openapi import needs_openapi
from worker.events import EventLog, EventType, make_event
from worker.limits import Admission, Limits

pytestmark = pytest.mark.slow

GRID = ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4", "❌"]
UPSCALE = ["Vary (Strong)", "Vary (Subtle)", "Upscale (Subtle)", "Upscale (Creative)", "❌"]
BLUE = 1


def imagine(stack: Stack, prompt: str, user=None, channel=None):
    """Run /imagine and return (the interaction, its result message)."""
    user = user or stack.alice
    interaction = stack.slash("imagine", user, channel, prompt=prompt)
    result = stack.wait_message(
        lambda m: (
            "U1" in labels(m)
            and prompt.split(" --")[0] in m.content
            and m.interaction is None
            and m.id > interaction.id
        ),
        channel,
    )
    return interaction, result


def created(stack: Stack, predicate) -> dict:
    """The first message ever posted whose content matches (it may be gone already: progress messages are)."""

    def find() -> dict | None:
        return next((d for e, d in list(stack.events) if e == "MESSAGE_CREATE" and predicate(d["content"])), None)

    return stack.wait(find, 60, "a matching message to be posted")


def gone(stack: Stack, message_id: int, channel=None) -> bool:
    """Whether the message was deleted (runs inside ``stack.wait``, on the emulator's loop)."""
    return all(m.id != message_id for m in stack.discord.messages(channel or stack.channel))


def test_imagine_progress_then_grid(stack: Stack) -> None:
    """/imagine answers at once, edits in progress with previews, then posts the grid with its buttons."""
    started = time.monotonic()
    interaction = stack.slash("imagine", stack.alice, prompt="a red fox --ar 3:2")
    assert time.monotonic() - started < 3
    first = interaction.original
    # The message object follows later edits; the gateway's MESSAGE_CREATE holds what was first said.
    created = next(d for e, d in stack.events if e == "MESSAGE_CREATE" and d["id"] == str(first.id))
    assert created["content"] == f"**a red fox --ar 3:2** - <@{stack.alice.id}> (Waiting to start)"
    result = stack.wait_message(lambda m: "U1" in labels(m))
    assert result.content == f"**a red fox --ar 3:2** - <@{stack.alice.id}> (fast)"
    assert labels(result) == GRID
    assert [b["label"] for b in result.buttons if b.get("label")][:8] == [
        "U1",
        "U2",
        "U3",
        "U4",
        "V1",
        "V2",
        "V3",
        "V4",
    ]
    assert len(result.attachments) == 1 and result.attachments[0].data.startswith(b"\x89PNG")
    edits = [d for e, d in stack.events if e == "MESSAGE_UPDATE" and d["id"] == str(first.id)]
    assert any("%) (fast)" in d["content"] and d.get("attachments") for d in edits), edits
    stack.wait(lambda: gone(stack, first.id), 10, "the progress message to go")
    assert stack.spec(job_of(result)).prompt.aspect == "3:2"


def test_upscale_vary_strong_and_creative(stack: Stack) -> None:
    """U2 (pressed by someone else) upscales and turns blue; Vary (Strong) makes a grid; Upscale (Creative) works."""
    _, grid = imagine(stack, "a lighthouse at dusk")
    stack.click(grid, "U2", stack.bob)
    assert grid.button("U2")["style"] == BLUE and grid.button("U1")["style"] != BLUE
    progress = created(stack, lambda content: content.startswith("Upscaling image #2 with **a lighthouse at dusk**"))
    assert f"<@{stack.bob.id}>" in progress["content"]
    upscaled = stack.wait_message(lambda m: labels(m) == UPSCALE)
    assert upscaled.message_reference["message_id"] == str(grid.id)
    spec = stack.spec(job_of(upscaled))
    assert (spec.kind, spec.strength, spec.requester.user_id) == ("upscale", "subtle", stack.bob.id)
    assert spec.parent.job_id == job_of(grid) and spec.parent.index == 2

    stack.click(upscaled, "Vary (Strong)", stack.alice)
    varied = stack.wait_message(
        lambda m: "U1" in labels(m) and m.message_reference and m.message_reference["message_id"] == str(upscaled.id)
    )
    assert "Variations" in varied.content
    assert stack.spec(job_of(varied)).strength == "strong"

    stack.click(upscaled, "Upscale (Creative)", stack.alice)
    creative = stack.wait_message(lambda m: labels(m) == UPSCALE and m.id > varied.id)
    assert stack.spec(job_of(creative)).strength == "creative"
    assert upscaled.button("Vary (Strong)")["style"] == BLUE


def test_v3_and_reroll(stack: Stack) -> None:
    """V3 makes variations of image 3 (strength from /settings); 🔄 reruns the prompt with a new seed."""
    _, grid = imagine(stack, "a teapot --seed 5")
    stack.click(grid, "V3", stack.alice)
    created(stack, lambda content: content.startswith("Making variations for image #3 with **a teapot --seed 5**"))
    varied = stack.wait_message(
        lambda m: "U1" in labels(m) and m.message_reference and m.message_reference["message_id"] == str(grid.id)
    )
    spec = stack.spec(job_of(varied))
    assert (spec.kind, spec.parent.index, spec.strength) == ("variation", 3, "strong")

    stack.click(grid, "🔄", stack.alice)
    rerolled = stack.wait_message(lambda m: "U1" in labels(m) and m.id > varied.id)
    assert rerolled.content.startswith("**a teapot --seed 5**")
    assert stack.spec(job_of(rerolled)).kind == "reroll"
    assert stack.spec(job_of(rerolled)).seed != stack.spec(job_of(grid)).seed


def test_invalid_flag_is_an_ephemeral_error(stack: Stack) -> None:
    """An unknown parameter is answered only to the user with a red Invalid parameter embed and its hint."""
    before = stack.redis.xlen("imagine:events")
    interaction = stack.slash("imagine", stack.alice, prompt="a fox --zoom 3")
    answer = interaction.original
    assert answer.ephemeral
    embed = answer.embeds[0]
    assert embed["title"] == "Invalid parameter" and "--zoom" in embed["description"]
    assert embed["color"] == 0xE74C3C and embed["fields"][0]["name"] == "Hint"
    assert stack.redis.xlen("imagine:events") == before  # nothing queued


def test_banned_word(stack: Stack) -> None:
    """A prompt with a banned word is refused with Banned prompt detected, and nothing is queued."""
    before = stack.redis.xlen("imagine:events")
    interaction = stack.slash("imagine", stack.alice, prompt=f"a {BANNED.upper()} scene")
    assert interaction.original.ephemeral
    assert interaction.original.embeds[0]["title"] == "Banned prompt detected"
    assert stack.redis.xlen("imagine:events") == before


def test_settings_change_later_prompts(stack: Stack) -> None:
    """/settings changes the user's defaults (aspect, mode, variation, suffix); flags in a prompt still win."""
    panel = stack.slash("settings", stack.carol).original
    assert panel.ephemeral and panel.embeds[0]["title"] == "Your settings"
    stack.select(panel, "settings:aspect", "16:9", stack.carol)
    stack.click(panel, "Relax mode", stack.carol)
    stack.click(panel, "Subtle variations", stack.carol)
    assert panel.button("Relax mode")["style"] == BLUE
    stack.slash("settings", stack.carol, suffix="--s 750")

    _, grid = imagine(stack, "a castle", user=stack.carol)
    spec = stack.spec(job_of(grid))
    assert (spec.prompt.aspect, spec.mode, spec.prompt.stylize) == ("16:9", "relax", 750)
    assert grid.content.endswith("(relax)")
    _, grid2 = imagine(stack, "a tower --ar 1:1 --s 20 --fast", user=stack.carol)
    spec2 = stack.spec(job_of(grid2))
    assert (spec2.prompt.aspect, spec2.mode, spec2.prompt.stylize) == ("1:1", "fast", 20)
    stack.click(grid, "V1", stack.carol)
    varied = stack.wait_message(lambda m: "U1" in labels(m) and m.id > grid2.id)
    assert stack.spec(job_of(varied)).strength == "subtle"


def test_info(stack: Stack) -> None:
    """/info lists the user's queued job with the jobs ahead of it, the mode, the model and the workers online."""
    stack.worker.pause()
    try:
        interaction = stack.slash("imagine", stack.bob, prompt="a waiting owl")
        job = interaction.original.buttons[0]["custom_id"].split(":")[2]
        info = stack.original(stack.slash("info", stack.bob))
        embed = info.embeds[0]
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert info.ephemeral and fields["Mode"] == "Fast" and fields["Model"] == "`demo`"
        assert fields["Workers online"] == "1"
        # The paused worker's BLPOP may already hold the job (Redis hands it over while the process is stopped).
        assert fields["Models online"].startswith("`demo` — 1 worker, ")
        assert job[:8] in fields["Jobs (1)"] and fields["Jobs (1)"].endswith("— queued, none ahead")
    finally:
        stack.worker.resume()
    stack.wait_message(lambda m: "a waiting owl" in m.content and "U1" in labels(m))


def test_cancel_owner_only(stack: Stack) -> None:
    """❌ by another user is refused; by the owner it cancels the running job, and on a result deletes it."""
    stack.worker.pause()
    try:
        interaction = stack.slash("imagine", stack.alice, prompt="a doomed job")
        progress = interaction.original
        refused = stack.click(progress, "❌", stack.bob)
        assert refused.original.ephemeral and refused.original.embeds[0]["title"] == "Not your job"
        pressed = stack.click(progress, "❌", stack.alice)
    finally:
        stack.worker.resume()
    stack.wait(lambda: progress.content.endswith("(Cancelled)"), 20, "the job to show as cancelled")
    assert not progress.buttons
    # The owner's answer, "Cancelling the job…" while a worker had it, ends as "Cancelled." either way.
    answer = pressed.original
    assert answer.ephemeral
    stack.wait(lambda: answer.content == "Cancelled.", 20, "the owner's answer to say Cancelled.")

    _, grid = imagine(stack, "a short-lived grid")
    assert stack.click(grid, "❌", stack.bob).original.embeds[0]["title"] == "Not your job"
    stack.click(grid, "❌", stack.alice)
    stack.wait(lambda: gone(stack, grid.id), 10, "the result to be deleted")


def test_dm(stack: Stack) -> None:
    """/imagine in a DM with the bot delivers the grid in the DM."""
    dm = stack.discord.dm(stack.alice)
    _, grid = imagine(stack, "a quiet pond", channel=dm)
    assert grid.channel_id == dm.id and labels(grid) == GRID


def test_rate_limited_post_is_retried(stack: Stack) -> None:
    """A 429 from Discord on posting the result is waited out and the result is posted exactly once."""
    stack.discord.force_rate_limit("POST /channels/{channel_id}/messages", retry_after=0.5)
    imagine(stack, "a patient snail")
    assert any(r.status == 429 for r in stack.discord.requests)
    time.sleep(0.5)
    assert len([m for m in stack.messages() if "a patient snail" in m.content and m.buttons and "U1" in labels(m)]) == 1


def test_malformed_and_expired_buttons(stack: Stack) -> None:
    """A malformed custom_id and a button whose job is unknown both get a clear ephemeral answer."""
    world = stack.discord.world

    async def post():
        row = {
            "type": 1,
            "components": [
                {"type": 2, "style": 2, "label": "Old", "custom_id": "im:zz:broken"},
                {"type": 2, "style": 2, "label": "Gone", "custom_id": "im:u:" + "0" * 32 + ":1"},
            ],
        }
        return world.post_message(stack.channel, world.bot, content="old buttons", components=[row])

    message = stack.run(post())
    assert stack.click(message, "Old", stack.alice).original.embeds[0]["title"] == "Unknown button"
    assert stack.click(message, "Gone", stack.alice).original.embeds[0]["title"] == "Job expired"


@needs_openapi
def test_requests_were_validated(stack: Stack) -> None:
    """The emulator checked every request the bot sent against Discord's OpenAPI spec (and found no violation)."""
    assert stack.discord.emulator.validator is not None
    assert len(stack.discord.requests) > 20


def test_token_never_logged(stack: Stack) -> None:
    """The bot's log never shows its token."""
    output = stack.bot.output()
    assert "logged in as imagine" in output and stack.discord.bot_token not in output


def test_permutations_make_several_jobs(stack: Stack) -> None:
    """A {a, b} permutation enqueues one job per variant, each with its own message and grid."""
    stack.slash("imagine", stack.bob, prompt="a {red, blue} kite")
    for colour in ("red", "blue"):
        stack.wait_message(lambda m, c=colour: m.content.startswith(f"**a {c} kite**") and "U1" in labels(m))


def test_failed_job_shows_internal_error(stack: Stack) -> None:
    """A job that fails is shown on its message as Internal error with the job id, the worker's reason, no trace."""
    stack.worker.pause()
    try:
        progress = stack.slash("imagine", stack.carol, prompt="an unlucky vase").original
        job = progress.buttons[0]["custom_id"].split(":")[2]
        spec = stack.spec(job)
        reason = "Something went wrong while making your images. Please try again."
        # What the worker writes when the engine crashes (tests/worker cover that side); the job then never runs.
        EventLog(stack.redis).finish(make_event(EventType.FAILED, job, spec.requester, {"reason": reason}))
        Admission(stack.redis, Limits()).release(spec.requester.user_id, job)
    finally:
        stack.worker.resume()
    stack.wait(lambda: progress.content.endswith("(Failed)"), 20, "the failure to show")
    embed = progress.embeds[0]
    assert embed["title"] == "Internal error" and embed["description"] == reason
    assert embed["footer"]["text"] == f"Job {job}" and "Traceback" not in str(embed)
    assert not progress.buttons

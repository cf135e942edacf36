"""Bench parts 5 and 6: a burst of simultaneous /imagine, and forged button ids pressed through the emulator.

Both run on a stack without workers (the demo model's card is published in their place, so jobs are taken and
never run): what is measured is the bot's answer to each command or press.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter

from bench.fault_watch import Row, answer_of, percentile, poll, submit, violations
from bot.custom_ids import Action, encode
from sandbox.models import CallbackType, Interaction, Message, User
from sandbox.rules import INITIAL_RESPONSE_DEADLINE_S
from tests.e2e.stack import Stack, job_of
from worker import keys
from worker.events import EventLog
from worker.limits import Admission, Limits

DEFERRED = CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE


def stack(concurrent: int, queued: int) -> Stack:
    """A stack without workers whose users may run ``concurrent`` jobs and queue ``queued`` more (not started)."""
    limits = {"IMAGINE_CONCURRENT_LIMIT": str(concurrent), "IMAGINE_QUEUED_LIMIT": str(queued)}
    return Stack(worker=False, queue_env={**limits, "IMAGINE_QUEUE_CAP": "1000"})


def _users(stack: Stack, prefix: str, count: int) -> list[User]:
    people = [stack.discord.add_user(f"{prefix}{n}") for n in range(count)]
    for person in people:
        stack.discord.world.add_member(stack.guild, person)
    return people


def burst(stack: Stack, users: int, each: int, concurrent: int, queued: int) -> Row:
    """``users`` × ``each`` simultaneous /imagine; count the answers and how soon each came."""
    people = _users(stack, "burst", users)
    sent, first = stack.run(_fire(stack, people, each), timeout=120)
    answered = poll(stack, lambda: all(i.original is not None and not i.original.loading for _, i in sent), 120)
    told = Counter(answer_of(i.original) if i.original else "no answer" for _, i in sent)
    expected = Counter({"accepted": concurrent + queued, "Queue full": each - concurrent - queued})
    exact = sum(
        Counter(answer_of(i.original) for who, i in sent if who is p and i.original) == expected for p in people
    )
    late = sum(first.get(i.id, float("inf")) > INITIAL_RESPONSE_DEADLINE_S or i.refused_late for _, i in sent)
    deferred = sum(i.callback_type is DEFERRED for _, i in sent)
    ms = [s * 1000 for s in first.values()] or [float("nan")]
    total = users * each
    others = {name: n for name, n in told.items() if name not in ("accepted", "Queue full", "Internal error")}
    counts = (
        f"{total} commands: {told['Internal error']} Internal error; {exact} of {users} users exactly "
        f"{concurrent + queued} accepted + {each - concurrent - queued} Queue full; {total - late} answered within "
        f"3 s ({deferred} deferred), {late} late"
    )
    if others:
        counts += "; also " + ", ".join(f"{n} {name!r}" for name, n in sorted(others.items()))
    notes = [
        f"First answer after the command (emulator clock, 10 ms resolution): p50 {percentile(ms, 0.5):.0f} ms, "
        f"p99 {percentile(ms, 0.99):.0f} ms, slowest {max(ms):.0f} ms. Every answer final (no “thinking…” left): "
        f"{'yes' if answered else 'no'}. Discord rule violations: {violations(stack)}.",
    ]
    return Row(
        part=f"Burst of {total} commands",
        done=f"{users} users × {each} simultaneous `/imagine` (no worker; limits {concurrent} running + {queued} "
        "queued per user)",
        counts=counts,
        promise="0 Internal error; limits exact; all answered in time (3 s or a deferral)",
        held=told["Internal error"] == 0 and exact == users and late == 0 and answered and not others,
        notes=notes,
    )


async def _fire(stack: Stack, people: list[User], each: int) -> tuple[list[tuple[User, Interaction]], dict[int, float]]:
    """Send every command at once, then note when each was first answered (seconds, emulator clock)."""
    sent = []
    for n in range(each):
        for user in people:
            prompt = f"burst {n} of {user.username}"
            interaction = await stack.discord.slash(
                "imagine", user=user, channel=stack.channel, wait=False, prompt=prompt
            )
            sent.append((user, interaction))
    clock = stack.discord.world.clock
    first: dict[int, float] = {}
    deadline = time.monotonic() + 2 * INITIAL_RESPONSE_DEADLINE_S
    while len(first) < len(sent) and time.monotonic() < deadline:
        for _, interaction in sent:
            if interaction.id not in first and interaction.responded:
                first[interaction.id] = clock.now() - interaction.created_at
        await asyncio.sleep(0.01)
    return sent, first


def forged(parent: str, upscale: str) -> list[tuple[str, str]]:
    """The forged and mangled custom_ids pressed, each with what it is; ``parent`` is a grid's job, ``upscale`` an
    upscale's."""
    return [
        ("U1 with index `0`", f"im:u:{parent}:0"),
        ("index `+2`", f"im:u:{parent}:+2"),
        ("Arabic-Indic digit `٢` as index", f"im:u:{parent}:\u0662"),
        ("unknown action `zz`", f"im:zz:{parent}:1"),
        ("U4 on an upscale", encode(Action.UPSCALE, upscale, 4)),
        ("a job id never made here", encode(Action.UPSCALE, uuid.uuid4().hex, 1)),
        ("over-long", f"im:u:{parent}:1".ljust(130, "z")),
        ("❌ on another user's job", encode(Action.CANCEL, parent, 0)),
    ]


def forged_ids(stack: Stack) -> Row:
    """Press each forged custom_id (on a message of the bot's carrying it); count answers and jobs made."""
    owner, forger = _users(stack, "forgery", 2)
    parent = submit(stack, owner, "forged ids parent")
    upscale = _upscale_of(stack, parent.job_id, owner)
    before = _specs(stack)
    rows, answered = [], 0
    for what, custom_id in forged(parent.job_id, upscale):
        press, seconds = stack.run(_press(stack, _posted_with(stack, custom_id), custom_id, forger))
        reply = stack.original(press) if press.responded else None
        ok = seconds is not None and reply is not None and reply.ephemeral and bool(reply.embeds)
        answered += ok
        title = answer_of(reply) if reply is not None else "no answer"
        shown = _shown(custom_id, {parent.job_id: "<grid job>", upscale: "<upscale job>"})
        took = f"{seconds * 1000:.0f} ms" if seconds is not None else "over 3 s"
        rows.append(f"| {what} | `{shown}` | {title}{'' if ok else ' (not an ephemeral error)'} | {took} |")
    made = _specs(stack) - before
    held_slots = Admission(stack.redis, Limits()).in_flight(forger.id)
    cancelled = EventLog(stack.redis).outcome(parent.job_id) is not None
    notes = [
        "| forged | custom_id | answer | in |",
        "|---|---|---|---|",
        *rows,
        f"Discord rule violations: {violations(stack)}.",
    ]
    return Row(
        part="Forged button ids",
        done=f"{len(rows)} forged or mangled custom_ids pressed through the emulator by a user who owns no job",
        counts=f"{answered} of {len(rows)} answered in 3 s with an ephemeral error; {made} jobs made; "
        f"{held_slots} slots taken; the pressed-on job {'cancelled' if cancelled else 'untouched'}",
        promise="0 jobs made; every press answered (ephemeral error)",
        held=answered == len(rows) and made == 0 and held_slots == 0 and not cancelled,
        notes=notes,
    )


def _upscale_of(stack: Stack, job_id: str, owner: User) -> str:
    """The id of a real upscale of the job: its owner presses the job's true U1."""
    grid = _posted_with(stack, encode(Action.UPSCALE, job_id, 1))
    press = stack.run(stack.discord.click(grid, encode(Action.UPSCALE, job_id, 1), user=owner, timeout=3.0))
    poll(stack, lambda: press.followups, 10)
    return job_of(press.followups[0])


def _posted_with(stack: Stack, custom_id: str) -> Message:
    """A message of the bot's carrying one button with this custom_id (as an old or tampered message would)."""
    row = {"type": 1, "components": [{"type": 2, "style": 2, "label": "press", "custom_id": custom_id}]}

    async def post() -> Message:
        return stack.discord.world.post_message(stack.channel, stack.discord.bot, content="a button", components=[row])

    result: Message = stack.run(post())
    return result


def _specs(stack: Stack) -> int:
    return sum(1 for _ in stack.redis.scan_iter(keys.spec("*")))


def _shown(custom_id: str, names: dict[str, str], limit: int = 40) -> str:
    """The custom_id with job ids named, cut at ``limit`` characters."""
    length = len(custom_id)
    for job_id, name in names.items():
        custom_id = custom_id.replace(job_id, name)
    custom_id = re.sub(r"[0-9a-f]{32}", "<random id>", custom_id)
    return custom_id if len(custom_id) <= limit else f"{custom_id[:limit]}… ({length} characters)"


async def _press(stack: Stack, message: Message, custom_id: str, user: User) -> tuple[Interaction, float | None]:
    """``user`` presses the button; the interaction and how soon it was answered (None: not within 3 s)."""
    press = await stack.discord.click(message, custom_id, user=user, wait=False)
    try:
        await stack.discord.world.wait_until(lambda: press.responded, INITIAL_RESPONSE_DEADLINE_S)
    except TimeoutError:
        return press, None
    return press, stack.discord.world.clock.now() - press.created_at

"""What bench/faults.py watches: jobs as their users see them in the Discord emulator, and their events in Redis.

Every count comes from what a user would see: the gateway events the emulator sent (each result post is one
MESSAGE_CREATE carrying the job's buttons and its grid) and the job's own message (the answer to ``/imagine``,
which the emulator edits in place and marks deleted). Redis's event stream is read only to time a fault: the
moment a job starts, which worker runs it, what had happened to it when something was killed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.models import Message, User
from tests.e2e.stack import Stack, job_of
from worker import keys
from worker.events import Event, EventType
from worker.fleet import Fleet

LOST_TITLE = "Job lost"


class BenchError(RuntimeError):
    """The bench could not set up what it measures (a command refused, a process that never came up)."""


class Fate(StrEnum):
    """Where a job stands, as its user sees it."""

    DELIVERED = "delivered"  # its result was posted (at least once)
    TOLD_LOST = "told lost"  # its message was edited to "Job lost"
    FAILED = "failed"  # its message shows another failure
    CANCELLED = "cancelled"
    WAITING = "waiting"  # its message still says "(Waiting to start)"
    RUNNING = "running"  # its message shows progress, and nothing more yet


ENDED = frozenset({Fate.DELIVERED, Fate.TOLD_LOST, Fate.FAILED, Fate.CANCELLED})


@dataclass
class Job:
    """One accepted ``/imagine``: its prompt, who ran it, its id and its message (kept current by the emulator)."""

    prompt: str
    user: User
    job_id: str
    message: Message


def answer_of(message: Message) -> str:
    """What a user was told: "accepted" for a job's message, else the error embed's title (or the text)."""
    if message.content.endswith("(Waiting to start)"):
        return "accepted"
    return str(message.embeds[0].get("title")) if message.embeds else message.content


def submit(stack: Stack, user: User, prompt: str) -> Job:
    """``user`` runs ``/imagine prompt`` (answered within Discord's 3 s); raises BenchError unless it was accepted."""
    message = stack.original(stack.slash("imagine", user, prompt=prompt))
    # A job's message is public and carries its buttons (it may show progress already); a refusal is neither.
    if message.ephemeral or not message.buttons:
        raise BenchError(f"/imagine {prompt!r} by {user.username} was answered {answer_of(message)!r}")
    return Job(prompt, user, job_of(message), message)


def on_loop(stack: Stack, func: Callable[[], Any]) -> Any:
    """``func()`` run on the emulator's loop (where the world it reads changes), its value returned."""

    async def call() -> Any:
        return func()

    return stack.run(call())


def poll(stack: Stack, condition: Callable[[], Any], timeout: float) -> bool:
    """Wait until ``condition()`` (run on the emulator's loop) is truthy; False if ``timeout`` passed first."""
    deadline = time.monotonic() + timeout
    while not on_loop(stack, condition):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _carries(data: dict[str, Any], job_id: str) -> bool:
    """Whether a gateway message payload carries a button of this job."""
    rows = data.get("components") or []
    return any(f":{job_id}:" in str(c.get("custom_id", "")) for row in rows for c in row.get("components") or [])


def result_posts(stack: Stack, job_id: str) -> int:
    """How many result messages of the job were ever posted (MESSAGE_CREATE with an image and its buttons)."""
    return sum(
        1
        for name, data in list(stack.events)
        if name == "MESSAGE_CREATE" and data.get("attachments") and _carries(data, job_id)
    )


def is_result_post(job_id: str) -> Callable[[str, dict[str, Any]], bool]:
    """A gateway-event matcher for the job's result post (for ``KillBotOn``)."""
    return lambda name, data: name == "MESSAGE_CREATE" and bool(data.get("attachments")) and _carries(data, job_id)


def lost_edits(stack: Stack, job: Job) -> int:
    """How many times the job's message was edited to say the job was lost."""
    return sum(
        1
        for name, data in list(stack.events)
        if name == "MESSAGE_UPDATE"
        and data.get("id") == str(job.message.id)
        and any(e.get("title") == LOST_TITLE for e in data.get("embeds") or [])
    )


def fate(stack: Stack, job: Job) -> Fate:
    """Where the job stands for its user (call on the emulator's loop: ``on_loop`` or ``poll``)."""
    if result_posts(stack, job.job_id):
        return Fate.DELIVERED
    message = job.message
    if any(e.get("title") == LOST_TITLE for e in message.embeds):
        return Fate.TOLD_LOST
    if message.content.endswith("(Failed)"):
        return Fate.FAILED
    if message.content.endswith("(Cancelled)"):
        return Fate.CANCELLED
    if message.content.endswith("(Waiting to start)"):
        return Fate.WAITING
    return Fate.RUNNING


@dataclass(frozen=True)
class Seen:
    """What a job's user has seen of it: result posts, "Job lost" edits, where it stands."""

    posts: int
    lost: int
    fate: Fate


def seen(stack: Stack, jobs: list[Job]) -> dict[str, Seen]:
    """What each job's user has seen so far, by job id."""
    return on_loop(
        stack,
        lambda: {j.job_id: Seen(result_posts(stack, j.job_id), lost_edits(stack, j), fate(stack, j)) for j in jobs},
    )


def unshown(stack: Stack, jobs: list[Job]) -> int:
    """How many of the jobs have no end their user can see yet."""
    return int(on_loop(stack, lambda: sum(fate(stack, j) not in ENDED for j in jobs)))


def all_ended(stack: Stack, jobs: list[Job]) -> Callable[[], bool]:
    """A condition for ``poll``: every job has an end its user can see."""
    return lambda: all(fate(stack, j) in ENDED for j in jobs)


def failure_text(job: Job) -> str:
    """The failure shown on the job's message (its embed's description), or ""."""
    return next((str(e.get("description") or "") for e in job.message.embeds), "")


def wait_for_fleet(stack: Stack, timeout: float = 60) -> None:
    """Wait until some worker (or the stand-in card) serves a model, so ``/imagine`` is not "No model online"."""
    deadline = time.monotonic() + timeout
    while not any(model.workers for model in Fleet(stack.redis).models()):
        if time.monotonic() >= deadline:
            raise BenchError(f"no worker in the fleet after {timeout:.0f} s")
        time.sleep(0.1)


def settle(stack: Stack, seconds: float) -> None:
    """Let anything still in flight land: wait, then a round trip through the bot (/info)."""
    time.sleep(seconds)
    stack.slash("info", stack.alice)


def violations(stack: Stack) -> int:
    """Discord rules the bot broke so far (requests against the rules or the OpenAPI document, late answers)."""
    stack.discord.check_unanswered()
    return len(stack.discord.pop_violations())


class StreamTail:
    """Reads Redis's job event stream as it grows (XREAD), keeping every event seen, by job."""

    def __init__(self, stack: Stack):
        self.connection = stack.redis
        self.last: bytes | str = "0-0"
        self.by_job: dict[str, list[Event]] = defaultdict(list)

    def read(self, block_ms: int | None = 100) -> list[Event]:
        """New events since the last read, waiting up to ``block_ms`` for one (None: not at all)."""
        # redis-py types the reply loosely; XREAD answers [[stream, [(id, fields), ...]]] or nothing.
        reply: Any = self.connection.xread({keys.EVENTS: self.last}, count=1000, block=block_ms) or []
        events = []
        for _stream, entries in reply:
            for stream_id, fields in entries:
                self.last = stream_id
                event = Event.from_fields(stream_id, fields)
                self.by_job[event.job_id].append(event)
                events.append(event)
        return events

    def wait_for(self, match: Callable[[Event], bool], timeout: float) -> Event | None:
        """The first event (already seen or new) that matches, or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        seen = [e for events in self.by_job.values() for e in events]
        while True:
            found = next((e for e in seen if match(e)), None)
            if found is not None or time.monotonic() >= deadline:
                return found
            seen = self.read()

    def started(self, job_ids: set[str], attempt: int | None = None) -> Callable[[Event], bool]:
        """A matcher: a ``started`` event of one of these jobs (of this attempt, when given)."""
        return lambda e: (
            e.type is EventType.STARTED
            and e.job_id in job_ids
            and (attempt is None or e.data.get("attempt") == attempt)
        )

    def attempts(self, job_id: str) -> list[int]:
        """The attempts the job's ``started`` events counted, in order."""
        return [int(e.data.get("attempt", 0)) for e in self.by_job[job_id] if e.type is EventType.STARTED]

    def stage(self, job_id: str) -> str:
        """How far the job had got, by its events seen so far: "waiting", "running" or "ended"."""
        self.read(block_ms=None)
        types = {e.type for e in self.by_job[job_id]}
        if types & {EventType.DONE, EventType.FAILED, EventType.CANCELLED}:
            return "ended"
        if types & {EventType.STARTED, EventType.PROGRESS}:
            return "running"
        return "waiting"


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Row:
    """One part of the bench as the section reports it: what was done, what was counted, whether the promise held."""

    part: str
    done: str
    counts: str
    promise: str
    held: bool
    notes: list[str] = field(default_factory=list)  # lines shown under the table
    seconds: float = 0.0  # filled in by bench/faults.py

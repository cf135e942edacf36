"""Small helpers shared by the queue tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from worker.events import Event, EventLog
from worker.process import serve
from worker.settings import QueueSettings
from worker.spec import JobKind, JobSpec, Mode, Parent, PromptFields, Requester, Strength, WeightedPrompt


def make_spec(
    prompt: str = "a red fox",
    user_id: int = 1,
    seed: int = 42,
    steps: int = 4,
    mode: Mode = Mode.FAST,
    kind: JobKind = JobKind.IMAGINE,
    parent: Parent | None = None,
    strength: Strength | None = None,
    model: str = "fake",
) -> JobSpec:
    """A small valid job spec for the fake engine's model (tests.worker.fakes) unless ``model`` says otherwise."""
    fields = PromptFields(prompts=[WeightedPrompt(text=prompt)], width=128, height=128)
    return JobSpec(
        kind=kind,
        model=model,
        prompt=fields,
        seed=seed,
        steps=steps,
        guidance=7.0,
        requester=Requester(user_id=user_id, channel_id=10, guild_id=20),
        mode=mode,
        parent=parent,
        strength=strength,
    )


def drain(settings: QueueSettings, engine: Any = None, modes: list[Mode] | None = None) -> int:
    """Run an in-process burst worker until the queues are empty; returns the jobs processed."""
    return serve(settings, modes, burst=True, engine=engine)


def wait_for(predicate: Callable[[], Any], timeout: float = 20, every: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")


def types(events: list[Event]) -> list[str]:
    """Event types in order, with runs of progress collapsed to one."""
    out: list[str] = []
    for e in events:
        if not (out and out[-1] == "progress" and e.type == "progress"):
            out.append(str(e.type))
    return out


def terminal(log: EventLog, job_id: str) -> list[Event]:
    """The job's terminal events in the stream."""
    return [e for e in log.history(job_id) if e.terminal]

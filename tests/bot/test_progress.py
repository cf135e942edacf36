"""Throttled progress edits: at most one per interval per job, always ending on the latest state."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.jobs import JobRecord
from bot.progress import ProgressEditor, Update
from worker.spec import JobKind

JOB = "0123456789abcdef0123456789abcdef"


def _record() -> JobRecord:
    return JobRecord(job_id=JOB, kind=JobKind.IMAGINE, user_id=1, channel_id=2, prompt="fox", message_id=3)


def _editor(edits: list[dict[str, Any]], interval: float) -> ProgressEditor:
    async def edit(record: JobRecord, message_id: int, **kwargs: Any) -> None:
        edits.append(kwargs)

    async def fetch(reference: str) -> bytes | None:
        return b"png" if reference else None

    return ProgressEditor(edit, fetch, interval)


def test_bursts_are_throttled_to_latest() -> None:
    """Ten updates within one interval make two edits: the first now, the latest when the interval ends."""

    async def scenario() -> list[dict[str, Any]]:
        edits: list[dict[str, Any]] = []
        editor = _editor(edits, 0.2)
        for percent in range(0, 100, 10):
            await editor.update(Update(_record(), percent))
        await asyncio.sleep(0.35)
        return edits

    edits = asyncio.run(scenario())
    assert [e["content"].rsplit("(", 2)[1] for e in edits] == ["0%) ", "90%) "]


def test_finish_drops_parked_edit() -> None:
    """Once a job finishes, a parked edit never lands after its result."""

    async def scenario() -> list[dict[str, Any]]:
        edits: list[dict[str, Any]] = []
        editor = _editor(edits, 0.2)
        await editor.update(Update(_record(), 10))
        await editor.update(Update(_record(), 50))
        editor.finish(JOB)
        await asyncio.sleep(0.3)
        return edits

    assert len(asyncio.run(scenario())) == 1


def test_preview_is_attached() -> None:
    """An update with a preview edits the message with the preview image."""

    async def scenario() -> list[dict[str, Any]]:
        edits: list[dict[str, Any]] = []
        await _editor(edits, 0).update(Update(_record(), 40, f"{JOB}/preview.png"))
        return edits

    (edit,) = asyncio.run(scenario())
    assert edit["attachments"][0].filename == "progress.png"

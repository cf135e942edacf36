"""Throttled progress edits: at most one edit of a job's message per interval, always showing the latest state.

Workers report progress often; Discord rate-limits message edits. Each job keeps the time of its last edit; an
update arriving sooner is parked (replacing any parked one) and a single timer edits with it when the interval
is up. A finished job's timer is cancelled so a late edit never follows the result.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from bot import messages, views
from bot.jobs import JobRecord

log = logging.getLogger(__name__)


@dataclass
class Update:
    """One state of a running job."""

    record: JobRecord
    percent: int
    preview: str | None = None  # a result-store reference ("job/preview.png")


class ProgressEditor:
    """Edits progress messages, throttled per job."""

    def __init__(
        self,
        edit: Callable[..., Awaitable[None]],
        fetch: Callable[[str], Awaitable[bytes | None]],
        interval_s: float = 2.0,
    ):
        self._edit = edit
        self._fetch = fetch
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._parked: dict[str, Update] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}

    async def update(self, update: Update) -> None:
        """Show ``update`` now if the job's interval has passed, else when it does."""
        job_id = update.record.job_id
        wait = self._last.get(job_id, 0.0) + self.interval_s - time.monotonic()
        if wait <= 0 and job_id not in self._timers:
            await self._show(update)
            return
        self._parked[job_id] = update
        if job_id not in self._timers:
            self._timers[job_id] = asyncio.create_task(self._later(job_id, max(wait, 0.0)))

    def finish(self, job_id: str) -> None:
        """Forget the job and drop any parked edit (its result or end is being shown)."""
        timer = self._timers.pop(job_id, None)
        if timer is not None:
            timer.cancel()
        self._parked.pop(job_id, None)
        self._last.pop(job_id, None)

    async def _later(self, job_id: str, wait: float) -> None:
        await asyncio.sleep(wait)
        self._timers.pop(job_id, None)
        update = self._parked.pop(job_id, None)
        if update is not None:
            await self._show(update)

    async def _show(self, update: Update) -> None:
        record = update.record
        if record.message_id is None:
            return
        self._last[record.job_id] = time.monotonic()
        head = messages.headline(record.kind, record.prompt, record.user_id, record.index)
        kwargs = {
            "content": messages.progress(head, update.percent, record.mode),
            "embeds": [],
            "view": views.progress_view(record.job_id),
            "allowed_mentions": messages.mentions(),
        }
        if update.preview:
            data = await self._fetch(update.preview)
            if data is not None:
                kwargs["attachments"] = [discord.File(io.BytesIO(data), filename="progress.png")]
        try:
            await self._edit(record, record.message_id, **kwargs)
        except discord.HTTPException as exc:
            log.warning("job %s: progress edit failed: %s", record.job_id, exc)

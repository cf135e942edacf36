"""/info: a user's running and queued jobs with their queue positions, their mode, the model and workers online."""

from __future__ import annotations

import time

import discord
import redis.asyncio
from rq import Worker

from bot import messages
from bot.blocking import BlockingExecutor
from bot.jobs import JobRecords
from bot.user_settings import UserSettingsStore
from worker import keys
from worker.queue import JobQueue, JobState, Position

MAX_LISTED = 10
# Each listed prompt's share of the jobs field, escaped: ten lines of at most ~100 characters (the longest place,
# "held back by your limit, 10th in your line", included) stay within an embed field's 1,024.
MAX_PROMPT_SHOWN = 36


def _where(position: Position) -> str:
    """Where a job stands, naming its line: the queue every worker takes jobs from, shared by everyone, or the
    user's own line of jobs held back until one of theirs finishes (their concurrent limit)."""
    if position.state is JobState.QUEUED and position.ahead is not None:
        ahead = position.ahead
        return "queued, none ahead" if ahead == 0 else f"queued, {ahead} job{'s' if ahead != 1 else ''} ahead"
    if position.state is JobState.WAITING:
        place = "" if position.ahead is None else f", {messages.ordinal(position.ahead + 1)} in your line"
        return f"held back by your limit{place}"
    return str(position.state)


class Info:
    """Builds the /info embed."""

    def __init__(
        self,
        *,
        connection: redis.asyncio.Redis,
        queue: JobQueue,
        records: JobRecords,
        user_prefs: UserSettingsStore,
        blocking: BlockingExecutor,
        model: str,
    ):
        self.connection = connection
        self.queue = queue
        self.records = records
        self.user_prefs = user_prefs
        self.blocking = blocking
        self.model = model

    def _workers_online(self) -> int:
        return Worker.count(connection=self.queue.connection)

    async def embed(self, user_id: int) -> discord.Embed:
        """The /info embed for one user."""
        prefs = await self.user_prefs.load(user_id)
        job_ids = await self.connection.zrangebyscore(keys.user_jobs(user_id), time.time(), "+inf")
        lines = []
        for raw in job_ids[:MAX_LISTED]:
            job_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            position = await self.blocking.run(self.queue.position, job_id)
            record = await self.records.load(job_id)
            prompt = messages.shown_prompt(record.prompt, limit=MAX_PROMPT_SHOWN) if record else "?"
            lines.append(f"`{job_id[:8]}` **{prompt}** — {_where(position)}")
        workers = await self.blocking.run(self._workers_online)
        embed = discord.Embed(title="Your info", colour=messages.BLURPLE)
        embed.add_field(name="Mode", value=str(prefs.mode).capitalize())
        embed.add_field(name="Model", value=self.model)
        embed.add_field(name="Workers online", value=str(workers))
        jobs_text = "\n".join(lines) if lines else "No jobs running or queued."
        if len(job_ids) > MAX_LISTED:
            jobs_text += f"\n…and {len(job_ids) - MAX_LISTED} more"
        embed.add_field(name=f"Jobs ({len(job_ids)})", value=jobs_text, inline=False)
        return embed

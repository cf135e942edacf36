"""/info: a user's running and queued jobs with their queue positions, their mode and model, and the models online
with their worker counts and queue depths (read from the fleet, worker/fleet.py)."""

from __future__ import annotations

import time

import discord
import redis.asyncio

from bot import messages
from bot.blocking import BlockingExecutor
from bot.jobs import JobRecords
from bot.model_choice import ModelChooser, ModelRefused
from bot.user_settings import UserSettingsStore
from worker import keys
from worker.fleet import LiveModel
from worker.queue import JobQueue, JobState, Position
from worker.spec import Mode

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
        models: ModelChooser,
    ):
        self.connection = connection
        self.queue = queue
        self.records = records
        self.user_prefs = user_prefs
        self.blocking = blocking
        self.models = models

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
        live = await self.models.live()
        embed = discord.Embed(title="Your info", colour=messages.BLURPLE)
        embed.add_field(name="Mode", value=str(prefs.mode).capitalize())
        try:
            card = self.models.default(live, prefs.model)
            model = messages.model_label(card.name, card.aliases)
        except ModelRefused:  # the user's (or the server's) choice is offline, or nothing is
            model = f"{messages.model_label(prefs.model)} (offline)" if prefs.model else "none online"
        embed.add_field(name="Model", value=model)
        embed.add_field(name="Workers online", value=str(sum(m.workers for m in live)))
        embed.add_field(name="Models online", value=_models_online(live), inline=False)
        jobs_text = "\n".join(lines) if lines else "No jobs running or queued."
        if len(job_ids) > MAX_LISTED:
            jobs_text += f"\n…and {len(job_ids) - MAX_LISTED} more"
        embed.add_field(name=f"Jobs ({len(job_ids)})", value=jobs_text, inline=False)
        return embed


def _models_online(live: list[LiveModel]) -> str:
    """One line per model online: its names, its workers and the jobs waiting in its queues."""
    if not live:
        return "None: no worker is running."
    lines = []
    for model in live:
        workers = f"{model.workers} worker{'s' if model.workers != 1 else ''}"
        waiting = f"{model.waiting[Mode.FAST]} fast and {model.waiting[Mode.RELAX]} relax jobs queued"
        lines.append(f"{messages.model_label(model.card.name, model.card.aliases)} — {workers}, {waiting}")
    text = "\n".join(lines)
    return text if len(text) <= 1024 else text[:1023] + messages.ELLIPSIS

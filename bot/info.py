"""/info: a user's running and queued jobs with their queue positions, their mode, the model and workers online."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from rq import Worker

from bot import messages
from worker import keys
from worker.queue import JobState

if TYPE_CHECKING:
    from bot.client import ImagineBot

MAX_LISTED = 10


def _workers_online(bot: ImagineBot) -> int:
    return Worker.count(connection=bot.queue.connection)


async def info_embed(bot: ImagineBot, user_id: int) -> discord.Embed:
    """The /info embed for one user."""
    prefs = await bot.user_prefs.load(user_id)
    job_ids = await bot.redis.zrangebyscore(keys.user_jobs(user_id), time.time(), "+inf")
    lines = []
    for raw in job_ids[:MAX_LISTED]:
        job_id = raw.decode() if isinstance(raw, bytes) else raw
        position = await bot.submitter.run(bot.queue.position, job_id)
        record = await bot.records.load(job_id)
        prompt = messages.shown_prompt(record.prompt[:60]) if record else "?"
        if position.state is JobState.RUNNING:
            where = "running"
        elif position.ahead is not None:
            where = f"{position.state}, position {position.ahead + 1}"
        else:
            where = str(position.state)
        lines.append(f"`{job_id[:8]}` **{prompt}** — {where}")
    workers = await bot.submitter.run(_workers_online, bot)
    embed = discord.Embed(title="Your info", colour=messages.BLURPLE)
    embed.add_field(name="Mode", value=str(prefs.mode).capitalize())
    embed.add_field(name="Model", value=bot.settings.model)
    embed.add_field(name="Workers online", value=str(workers))
    jobs_text = "\n".join(lines) if lines else "No jobs running or queued."
    if len(job_ids) > MAX_LISTED:
        jobs_text += f"\n…and {len(job_ids) - MAX_LISTED} more"
    embed.add_field(name=f"Jobs ({len(job_ids)})", value=jobs_text, inline=False)
    return embed

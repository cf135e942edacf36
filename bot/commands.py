"""The slash commands: /imagine, /settings and /info.

/imagine answers within Discord's 3 seconds: the prompt is parsed and the jobs admitted first (milliseconds), and
the answer is either the job's message ("Waiting to start") or an ephemeral error embed.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot import messages, metrics, views
from bot.info import info_embed
from bot.jobs import JobRecord
from bot.permutations import expand_permutations
from bot.prompt import PromptError, parse_prompt
from bot.settings_view import SettingsView, settings_embed
from bot.submit import Accepted, refusal_embed
from bot.user_settings import MAX_SUFFIX
from worker.spec import JobKind, JobSpec, Requester, imagine_spec

if TYPE_CHECKING:
    from bot.client import ImagineBot

log = logging.getLogger(__name__)


def register(tree: app_commands.CommandTree) -> None:
    """Add the bot's commands to the tree."""
    tree.add_command(app_commands.Command(name="imagine", description="Create images from a prompt", callback=imagine))
    tree.add_command(
        app_commands.Command(name="settings", description="View and change your default settings", callback=settings)
    )
    tree.add_command(app_commands.Command(name="info", description="Your jobs, queue and mode", callback=info))


@app_commands.describe(prompt="What to draw, with optional --parameters at the end")
async def imagine(interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 1500]) -> None:
    """/imagine prompt:<text>."""
    started = time.monotonic()
    bot: ImagineBot = interaction.client  # type: ignore[assignment]
    user_id = interaction.user.id
    prefs = await bot.user_prefs.load(user_id)
    text = prefs.apply(prompt)
    if (word := bot.banned.find(text)) is not None:
        log.info("user %s: banned word in prompt", user_id)
        metrics.PROMPTS.labels("banned").inc()
        await interaction.response.send_message(embed=messages.banned_prompt(word), ephemeral=True)
        return
    try:
        parsed = parse_prompt(text, bot.parser_options)
        texts = expand_permutations(text, bot.parser_options.max_permutations)
    except PromptError as exc:
        metrics.PROMPTS.labels("invalid").inc()
        await interaction.response.send_message(
            embed=messages.invalid_parameter(exc.message, exc.hint, exc.title), ephemeral=True
        )
        return
    requester = Requester(user_id=user_id, channel_id=interaction.channel_id, guild_id=interaction.guild_id)
    jobs: list[tuple[JobSpec, JobRecord]] = []
    for fields, shown in zip(parsed, texts, strict=True):
        for _ in range(fields.repeat):
            spec = imagine_spec(fields, requester, prefs.mode, bot.settings.steps)
            # The expansion may leave double spaces.
            jobs.append((spec, JobRecord.for_spec(spec, prompt=" ".join(shown.split()))))
    accepted, refusal = await bot.submitter.enqueue_in_time(interaction, jobs, started)
    deferred = interaction.response.is_done()
    metrics.PROMPTS.labels("accepted" if accepted else "refused").inc()
    if not accepted:
        assert refusal is not None
        if deferred:
            await interaction.followup.send(embed=refusal_embed(refusal), ephemeral=True)
        else:
            await interaction.response.send_message(embed=refusal_embed(refusal), ephemeral=True)
        return
    first, *others = accepted
    if deferred:  # the first follow-up fills the "thinking…" message
        message_id: int | None = (await interaction.followup.send(wait=True, **_waiting_message(first))).id
    else:
        message_id = (await interaction.response.send_message(**_waiting_message(first))).message_id
    await bot.submitter.attach_message(first, message_id, interaction)
    await _cleanup_if_delivered(bot, first, message_id)
    for job in others:
        message = await bot.outbox.send(job.record, **_waiting_message(job), interaction=interaction)
        await bot.submitter.attach_message(job, message.id if message else None, interaction)
        if message is not None:
            await _cleanup_if_delivered(bot, job, message.id)
    if refusal is not None:
        await interaction.followup.send(embed=refusal_embed(refusal), ephemeral=True)


def _waiting_message(job: Accepted) -> dict[str, Any]:
    head = messages.headline(JobKind.IMAGINE, job.record.prompt, job.record.user_id)
    out: dict[str, Any] = {
        "content": messages.waiting(head),
        "view": views.progress_view(job.spec.id),
        "allowed_mentions": messages.mentions(),
    }
    if job.held_back:
        out["embed"] = messages.job_queued(job.position.ahead)
    return out


async def _cleanup_if_delivered(bot: ImagineBot, job: Accepted, message_id: int | None) -> None:
    # The job may have finished before its message was recorded; then delivery could not remove this message.
    if message_id is not None and await bot.submitter.already_delivered(job.spec.id):
        await bot.outbox.delete(job.record, message_id)


@app_commands.describe(suffix=f"Text added to every prompt, e.g. --ar 3:2 --s 250 (max {MAX_SUFFIX}); 'none' clears")
async def settings(
    interaction: discord.Interaction, suffix: app_commands.Range[str, 1, MAX_SUFFIX] | None = None
) -> None:
    """/settings [suffix:<text>]: show (and change) the user's defaults."""
    bot: ImagineBot = interaction.client  # type: ignore[assignment]
    user_id = interaction.user.id
    prefs = await bot.user_prefs.load(user_id)
    if suffix is not None:
        prefs = prefs.model_copy(update={"suffix": "" if suffix.strip().lower() == "none" else suffix.strip()})
        await bot.user_prefs.save(user_id, prefs)
    view = SettingsView(bot.user_prefs, user_id, prefs)
    await interaction.response.send_message(embed=settings_embed(prefs), view=view, ephemeral=True)


async def info(interaction: discord.Interaction) -> None:
    """/info: the user's jobs with queue positions, their mode, the model and the workers online."""
    bot: ImagineBot = interaction.client  # type: ignore[assignment]
    await interaction.response.defer(ephemeral=True, thinking=True)
    embed = await info_embed(bot, interaction.user.id)
    await interaction.followup.send(embed=embed, ephemeral=True)

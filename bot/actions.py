"""What a pressed job button does: start a follow-up job (upscale, variation, reroll) or cancel/delete.

A follow-up is the presser's job (their settings, their limits) made from the pressed message's job. The press
is answered by turning the button blue (an update of the pressed message), then the new job's message follows.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import discord

from bot import messages, views
from bot.custom_ids import Action, ButtonId
from bot.jobs import JobRecord, follow_up_kind
from bot.submit import refusal_embed
from worker.queue import JobState
from worker.spec import JobKind, Requester, follow_up_spec

if TYPE_CHECKING:
    from bot.client import ImagineBot

log = logging.getLogger(__name__)


class ButtonActions:
    """Handlers for ``JobButton`` presses."""

    def __init__(self, bot: ImagineBot):
        self.bot = bot

    async def press(self, interaction: discord.Interaction, button: ButtonId) -> None:
        """Act on a press that passed the button's interaction_check."""
        if button.action is Action.CANCEL:
            await self.cancel(interaction, button)
        else:
            await self.follow_up(interaction, button)

    async def follow_up(self, interaction: discord.Interaction, button: ButtonId) -> None:
        """Queue the job the button asks for, mark the button used, and post the job's message."""
        started = time.monotonic()
        bot = self.bot
        parent = await bot.submitter.run(bot.queue.load_spec, button.job_id)
        if parent is None:
            await self.answer_error(interaction, messages.job_expired())
            return
        user_id = interaction.user.id
        prefs = await bot.user_prefs.load(user_id)
        requester = Requester(user_id=user_id, channel_id=interaction.channel_id, guild_id=interaction.guild_id)
        kind, strength = follow_up_kind(button.action, prefs.variation)
        spec = follow_up_spec(parent, kind, strength, button.index, requester, prefs.mode, bot.settings.steps)
        parent_record = await bot.records.load(parent.id)
        prompt = parent_record.prompt if parent_record else parent.prompt.text
        shown_index = button.index if spec.kind in (JobKind.UPSCALE, JobKind.VARIATION) else 0
        reply_to = interaction.message.id if interaction.message else None
        record = JobRecord.for_spec(spec, prompt=prompt, index=shown_index, reply_to=reply_to)
        accepted, refusal = await bot.submitter.enqueue_in_time(interaction, [(spec, record)], started)
        if refusal is not None:
            await self.answer_error(interaction, refusal_embed(refusal))
            return
        job = accepted[0]
        log.info("job %s: %s of %s/%d for user %s", spec.id, spec.kind, parent.id, button.index, user_id)
        if interaction.message is None:
            if not interaction.response.is_done():
                await interaction.response.defer()
        elif interaction.response.is_done():  # deferred while enqueueing: edit the pressed message instead
            await interaction.edit_original_response(view=views.pressed_view(interaction.message, button.encode()))
        else:
            await interaction.response.edit_message(view=views.pressed_view(interaction.message, button.encode()))
        head = messages.headline(spec.kind, prompt, user_id, shown_index)
        extra: dict[str, Any] = {"embed": messages.job_queued(job.position.ahead)} if job.held_back else {}
        message = await interaction.followup.send(
            messages.waiting(head),
            view=views.progress_view(spec.id),
            allowed_mentions=messages.mentions(),
            wait=True,
            **extra,
        )
        await bot.submitter.attach_message(job, message.id, interaction)
        if await bot.submitter.already_delivered(spec.id):
            await bot.outbox.delete(job.record, message.id)

    async def cancel(self, interaction: discord.Interaction, button: ButtonId) -> None:
        """❌ by the owner: cancel the job if it has not finished, else delete the result message."""
        bot = self.bot
        state = await bot.submitter.run(bot.queue.cancel, button.job_id, interaction.user.id)
        log.info("job %s: ❌ by its owner (state %s)", button.job_id, state)
        if state in (JobState.CANCELLED, JobState.RUNNING, JobState.QUEUED, JobState.WAITING):
            await interaction.response.send_message("Cancelling the job…", ephemeral=True)
            return
        await interaction.response.defer()
        if interaction.message is not None:
            try:
                await interaction.message.delete()
            except discord.HTTPException:
                await interaction.delete_original_response()

    async def answer_error(self, interaction: discord.Interaction, embed: discord.Embed) -> None:
        """An ephemeral error, whether or not the interaction was answered already."""
        try:
            if interaction.response.is_done():
                await interaction.followup.send(embed=embed, ephemeral=True)
            else:
                await interaction.response.send_message(embed=embed, ephemeral=True)
        except discord.HTTPException as exc:
            log.warning("could not answer interaction %s with an error: %s", interaction.id, exc)

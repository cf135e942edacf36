"""What a pressed job button does: start a follow-up job (upscale, variation, reroll) or cancel/delete.

A follow-up is the presser's job (their settings, their limits) made from the pressed message's job and drawn by
the same model (refused at once if no worker runs it now). The press is answered by turning the button blue (an
update of the pressed message), then the new job's message follows.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import discord

from bot import messages, views
from bot.blocking import BlockingExecutor
from bot.custom_ids import Action, ButtonId, acts_on
from bot.jobs import CancelReply, JobRecord, JobRecords, follow_up_kind, requester_of
from bot.model_choice import ModelChooser, ModelRefused, check_job
from bot.outbox import Outbox
from bot.replies import answer_error
from bot.submit import Submitter, refusal_embed
from bot.user_settings import UserSettingsStore
from worker.events import EventType
from worker.queue import JobQueue, JobState
from worker.spec import JobKind, follow_up_spec

log = logging.getLogger(__name__)


class ButtonActions:
    """Handlers for ``JobButton`` presses (the client's ``button_handler``)."""

    def __init__(
        self,
        *,
        queue: JobQueue,
        blocking: BlockingExecutor,
        records: JobRecords,
        user_prefs: UserSettingsStore,
        submitter: Submitter,
        outbox: Outbox,
        models: ModelChooser,
    ):
        self.queue = queue
        self.blocking = blocking
        self.records = records
        self.user_prefs = user_prefs
        self.submitter = submitter
        self.outbox = outbox
        self.models = models

    async def check(self, interaction: discord.Interaction, button: ButtonId) -> bool:
        """Anyone may press a button but ❌, which is its job's owner's; others are answered why not."""
        if button.action is not Action.CANCEL:
            return True
        spec = await self.blocking.run(self.queue.load_spec, button.job_id)
        if spec is None:
            await interaction.response.send_message(embed=messages.job_expired(), ephemeral=True)
            return False
        if spec.requester.user_id != interaction.user.id:
            embed = messages.not_owner(spec.requester.user_id)
            await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=messages.mentions())
            return False
        return True

    async def press(self, interaction: discord.Interaction, button: ButtonId) -> None:
        """Act on a press that passed ``check``."""
        if button.action is Action.CANCEL:
            await self.cancel(interaction, button)
        else:
            await self.follow_up(interaction, button)

    async def follow_up(self, interaction: discord.Interaction, button: ButtonId) -> None:
        """Queue the job the button asks for, mark the button used, and post the job's message."""
        started = time.monotonic()
        parent = await self.blocking.run(self.queue.load_spec, button.job_id)
        if parent is None:
            await answer_error(interaction, messages.job_expired())
            return
        if not acts_on(button.action, parent.kind):  # e.g. a forged U4 on an upscale: refuse before queueing
            log.info("job %s: %s pressed on a %s job; refused", parent.id, button.action.name, parent.kind)
            await answer_error(interaction, messages.wrong_button(parent.kind))
            return
        user_id = interaction.user.id
        prefs = await self.user_prefs.load(user_id)
        kind, strength = follow_up_kind(button.action, prefs.variation)
        requester = requester_of(interaction)
        try:
            card = self.models.for_parent(parent, await self.models.live())
            spec = follow_up_spec(parent, kind, strength, button.index, requester, prefs.mode, card.default_steps)
            check_job(spec, card)
        except ModelRefused as exc:
            log.info("job %s: %s refused: %s", parent.id, button.action.name, exc)
            await answer_error(interaction, exc.embed)
            return
        parent_record = await self.records.load(parent.id)
        prompt = parent_record.prompt if parent_record else parent.prompt.text
        # An upscale of an upscale is drawn again from the grid cell: it shows that cell's number.
        shown_index = spec.parent.index if spec.parent and spec.kind in (JobKind.UPSCALE, JobKind.VARIATION) else 0
        reply_to = interaction.message.id if interaction.message else None
        record = JobRecord.for_spec(spec, prompt=prompt, index=shown_index, reply_to=reply_to)
        accepted, refusal = await self.submitter.enqueue_in_time(interaction, [(spec, record)], started)
        if refusal is not None:
            await answer_error(interaction, refusal_embed(refusal))
            return
        job = accepted[0]
        log.info("job %s: %s of %s/%d for user %s", spec.id, spec.kind, parent.id, button.index, user_id)
        try:
            await self._mark_pressed(interaction, button)
            head = messages.headline(spec.kind, prompt, user_id, shown_index)
            extra: dict[str, Any] = {"embed": messages.job_queued(job.position.ahead)} if job.held_back else {}
            message = await interaction.followup.send(
                messages.waiting(head),
                view=views.progress_view(spec.id),
                allowed_mentions=messages.mentions(),
                wait=True,
                **extra,
            )
        except Exception:
            # Not shown, so not run: the user is told once, and the job is withdrawn.
            log.exception("job %s: its message could not be posted", spec.id)
            await self.submitter.withdraw_unshown(interaction, [job])
            return
        try:
            await self.submitter.attach_message(job, message.id, interaction)
            if await self.submitter.already_delivered(spec.id):
                await self.outbox.delete(job.record, message.id)
        except Exception:  # the user has the job; delivery finds an unrecorded message by its buttons
            log.exception("job %s: message %s posted but not recorded", spec.id, message.id)

    async def _mark_pressed(self, interaction: discord.Interaction, button: ButtonId) -> None:
        """Answer the press by turning the pressed button blue (or only acknowledge it, with no message)."""
        if interaction.message is None:
            if not interaction.response.is_done():
                await interaction.response.defer()
        elif interaction.response.is_done():  # deferred while enqueueing: edit the pressed message instead
            await interaction.edit_original_response(view=views.pressed_view(interaction.message, button.encode()))
        else:
            await interaction.response.edit_message(view=views.pressed_view(interaction.message, button.encode()))

    async def cancel(self, interaction: discord.Interaction, button: ButtonId) -> None:
        """❌ by the owner: cancel the job if it has not finished, else delete the result message."""
        state = await self.blocking.run(self.queue.cancel, button.job_id, interaction.user.id)
        log.info("job %s: ❌ by its owner (state %s)", button.job_id, state)
        if state is JobState.CANCELLED:  # it had not started: its cancelled event is already out
            await interaction.response.send_message(messages.cancel_answer(EventType.CANCELLED), ephemeral=True)
            return
        if state in (JobState.RUNNING, JobState.QUEUED, JobState.WAITING):  # it stops at its next step
            sent = await interaction.response.send_message(messages.CANCELLING, ephemeral=True)
            await self._await_end(interaction, button.job_id, sent.message_id)
            return
        await interaction.response.defer()
        if interaction.message is not None:
            try:
                await interaction.message.delete()
            except discord.HTTPException:
                await interaction.delete_original_response()

    async def _await_end(self, interaction: discord.Interaction, job_id: str, message_id: int | None) -> None:
        """Leave the "Cancelling…" answer for the delivery loop to edit when the job's terminal event comes.

        If the job ended while this was answered, the loop may have handled that event before the reply was saved:
        then the answer is edited here. Taking the reply (GETDEL) makes exactly one of the two edit it.
        """
        if message_id is None or interaction.application_id is None:
            return
        reply = CancelReply(application_id=interaction.application_id, token=interaction.token, message_id=message_id)
        await self.records.save_cancel_reply(job_id, reply)
        outcome = await self.blocking.run(self.queue.events.outcome, job_id)
        if outcome is not None and (taken := await self.records.take_cancel_reply(job_id)) is not None:
            await self.outbox.edit_reply(taken, messages.cancel_answer(str(outcome.get("status"))))

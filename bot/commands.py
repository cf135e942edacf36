"""The slash commands: /imagine, /settings and /info.

/imagine answers within Discord's 3 seconds: the prompt is parsed against the models online (bot/model_choice.py)
and the jobs admitted first (milliseconds), and the answer is either the job's message ("Waiting to start") or an
ephemeral error embed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from bot import messages, metrics, views
from bot.info import Info
from bot.jobs import JobRecord, requester_of
from bot.model_choice import Choice, ModelChooser, ModelRefused, check_job
from bot.moderation import BannedWords
from bot.outbox import Outbox
from bot.permutations import expand_permutations
from bot.prompt import PromptError
from bot.replies import answer_error
from bot.settings_view import SettingsView, settings_embed
from bot.submit import Accepted, Submitter, refusal_embed
from bot.user_settings import MAX_SUFFIX, UserSettingsStore
from worker.spec import JobKind, JobSpec, Mode, imagine_spec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Verdict:
    """What admitting a prompt came to: the jobs accepted, and the error embed for what was not (if anything)."""

    accepted: list[Accepted]
    refusal: discord.Embed | None = None


class Commands:
    """The slash command callbacks, bound to what they use."""

    def __init__(
        self,
        *,
        user_prefs: UserSettingsStore,
        submitter: Submitter,
        outbox: Outbox,
        info: Info,
        models: ModelChooser,
        banned: BannedWords,
    ):
        self.user_prefs = user_prefs
        self.submitter = submitter
        self.outbox = outbox
        self.info_panel = info
        self.models = models
        self.banned = banned

    def register(self, tree: app_commands.CommandTree[Any]) -> None:
        """Add the commands to the tree (discord.py passes this object to the bound callbacks)."""
        tree.add_command(
            app_commands.Command(name="imagine", description="Create images from a prompt", callback=self.imagine)
        )
        tree.add_command(
            app_commands.Command(
                name="settings", description="View and change your default settings", callback=self.settings
            )
        )
        tree.add_command(app_commands.Command(name="info", description="Your jobs, queue and mode", callback=self.info))

    @app_commands.describe(prompt="What to draw, with optional --parameters at the end")
    async def imagine(self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 1500]) -> None:
        """/imagine prompt:<text>."""
        started = time.monotonic()
        # Everything that decides the answer (the user's settings, parsing, admission) runs within the deferral
        # budget: a burst waiting for Redis connections is deferred, never late.
        verdict = await self.submitter.in_time(interaction, self._admit(interaction, prompt), started)
        if not verdict.accepted:
            assert verdict.refusal is not None
            await answer_error(interaction, verdict.refusal)
            return
        accepted = verdict.accepted
        for index, job in enumerate(accepted):
            try:
                message_id = await self._post(interaction, job, first=index == 0)
            except Exception:
                # Not shown, so not run: the user is told once, and this and the later jobs are withdrawn.
                log.exception("job %s: its message could not be posted", job.spec.id)
                await self.submitter.withdraw_unshown(interaction, accepted[index:])
                return
            await self._remember(interaction, job, message_id)
        if verdict.refusal is not None:
            await answer_error(interaction, verdict.refusal)

    async def _post(self, interaction: discord.Interaction, job: Accepted, *, first: bool) -> int | None:
        """Post a job's "Waiting to start" message and return its id: the first job's is the answer (after a
        deferral, the follow-up that fills "thinking…"), the others' go to the channel."""
        if not first:
            message = await self.outbox.send(job.record, **_waiting_message(job), interaction=interaction)
            return message.id if message is not None else None
        if interaction.response.is_done():
            return (await interaction.followup.send(wait=True, **_waiting_message(job))).id
        return (await interaction.response.send_message(**_waiting_message(job))).message_id

    async def _remember(self, interaction: discord.Interaction, job: Accepted, message_id: int | None) -> None:
        """Record a posted job's message. A failure is logged, not answered: the user has the job, and delivery
        finds a message whose id was not recorded by its buttons."""
        try:
            await self.submitter.attach_message(job, message_id, interaction)
            await self._cleanup_if_delivered(job, message_id)
        except Exception:
            log.exception("job %s: message %s posted but not recorded", job.spec.id, message_id)

    async def _admit(self, interaction: discord.Interaction, prompt: str) -> _Verdict:
        """Parse the prompt with the user's settings and admit its jobs, in order until one is refused."""
        user_id = interaction.user.id
        prefs = await self.user_prefs.load(user_id)
        text = prefs.apply(prompt)
        if (word := self.banned.find(text)) is not None:
            log.info("user %s: banned word in prompt", user_id)
            metrics.PROMPTS.labels("banned").inc()
            return _Verdict([], messages.banned_prompt(word))
        live = await self.models.live()
        try:
            jobs = self._jobs(interaction, text, prefs.mode, self.models.for_prompt(text, live, prefs.model))
        except ModelRefused as exc:
            log.info("user %s: prompt refused: %s", user_id, exc)
            metrics.PROMPTS.labels("refused" if exc.offline else "invalid").inc()
            return _Verdict([], exc.embed)
        except PromptError as exc:
            metrics.PROMPTS.labels("invalid").inc()
            return _Verdict([], messages.invalid_parameter(exc.message, exc.hint, exc.title))
        accepted, refusal = await self.submitter.enqueue_all(jobs)
        metrics.PROMPTS.labels("accepted" if accepted else "refused").inc()
        return _Verdict(accepted, refusal_embed(refusal) if refusal is not None else None)

    def _jobs(
        self, interaction: discord.Interaction, text: str, mode: Mode, choices: list[Choice]
    ) -> list[tuple[JobSpec, JobRecord]]:
        """Each expansion's jobs (``--repeat`` of them), with the model's steps and guidance; raises ModelRefused."""
        requester = requester_of(interaction)
        texts = expand_permutations(text, self.models.limits.max_permutations)
        jobs: list[tuple[JobSpec, JobRecord]] = []
        for choice, shown in zip(choices, texts, strict=True):
            card = choice.card
            for _ in range(choice.fields.repeat):
                spec = imagine_spec(
                    choice.fields, requester, mode, card.default_steps, model=card.name, guidance=card.guidance
                )
                check_job(spec, card)
                # The expansion may leave double spaces.
                jobs.append((spec, JobRecord.for_spec(spec, prompt=" ".join(shown.split()))))
        return jobs

    async def _cleanup_if_delivered(self, job: Accepted, message_id: int | None) -> None:
        # The job may have finished before its message was recorded; then delivery could not remove this message.
        if message_id is not None and await self.submitter.already_delivered(job.spec.id):
            await self.outbox.delete(job.record, message_id)

    @app_commands.describe(
        suffix=f"Text added to every prompt, e.g. --ar 3:2 --s 250 (max {MAX_SUFFIX}); 'none' clears"
    )
    async def settings(
        self, interaction: discord.Interaction, suffix: app_commands.Range[str, 1, MAX_SUFFIX] | None = None
    ) -> None:
        """/settings [suffix:<text>]: show (and change) the user's defaults."""
        user_id = interaction.user.id
        prefs = await self.user_prefs.load(user_id)
        if suffix is not None:
            prefs = prefs.model_copy(update={"suffix": "" if suffix.strip().lower() == "none" else suffix.strip()})
            await self.user_prefs.save(user_id, prefs)
        live = await self.models.live()
        view = SettingsView(self.user_prefs, user_id, prefs, [model.card for model in live])
        await interaction.response.send_message(embed=settings_embed(prefs), view=view, ephemeral=True)

    async def info(self, interaction: discord.Interaction) -> None:
        """/info: the user's jobs with queue positions, their mode, the model and the workers online."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        embed = await self.info_panel.embed(interaction.user.id)
        await interaction.followup.send(embed=embed, ephemeral=True)


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

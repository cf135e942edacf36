"""Accepting jobs: enqueue (in a thread: the queue client is synchronous), record where to deliver, answer.

Every job is admitted before the user is answered, so a refusal ("Queue full") is the answer itself. A job
record is written before the job is enqueued, so the delivery loop always finds it, however fast the worker is.
A job whose message then cannot be posted is withdrawn (cancelled, its result never posted) and the user told so:
a user never gets both an error and the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import discord
import redis.asyncio

from bot import keys, messages
from bot.blocking import BlockingExecutor
from bot.jobs import TOKEN_LIFETIME_S, JobRecord, JobRecords
from bot.pending import PendingJobs
from bot.replies import answer_error
from worker.queue import EnqueueError, JobQueue, JobState, Position
from worker.spec import JobSpec

log = logging.getLogger(__name__)

# Seconds from receiving an interaction within which it is answered, or else deferred (Discord allows 3).
ACK_BUDGET_S = 2.0

T = TypeVar("T")


@dataclass
class Accepted:
    """A job that was admitted, with where it stands."""

    spec: JobSpec
    record: JobRecord
    position: Position

    @property
    def held_back(self) -> bool:
        """Waiting behind the user's concurrent limit ("Job queued")."""
        return self.position.state is JobState.WAITING


class Submitter:
    """Enqueues jobs for the bot."""

    def __init__(
        self,
        queue: JobQueue,
        records: JobRecords,
        pending: PendingJobs,
        connection: redis.asyncio.Redis,
        blocking: BlockingExecutor,
    ):
        self.queue = queue
        self.records = records
        self.pending = pending
        self.connection = connection
        self.blocking = blocking

    async def enqueue(self, spec: JobSpec, record: JobRecord) -> Accepted:
        """Record and enqueue one job, and note it pending; raises EnqueueError when refused (the record is then
        left to expire)."""
        await self.records.save(record)
        position = await self.blocking.run(self.queue.enqueue, spec)
        accepted = Accepted(spec, record, position)
        try:
            await self.pending.add(record)
        except Exception:  # queued but not indexed: take it back rather than leave a job nobody will answer for
            with contextlib.suppress(Exception):
                await self.withdraw([accepted])
            raise
        return accepted

    async def enqueue_all(self, jobs: list[tuple[JobSpec, JobRecord]]) -> tuple[list[Accepted], EnqueueError | None]:
        """Enqueue in order until one is refused; returns the accepted ones and the refusal, if any.

        Any other error (Redis gone midway) withdraws the jobs already accepted, then propagates: the user is told
        of the error, so none of them may run.
        """
        accepted: list[Accepted] = []
        for spec, record in jobs:
            try:
                accepted.append(await self.enqueue(spec, record))
            except EnqueueError as exc:
                log.info("job %s: refused (%s)", spec.id, exc.reason)
                return accepted, exc
            except Exception:
                if accepted:
                    with contextlib.suppress(Exception):  # the error being raised is the one to report
                        await self.withdraw(accepted)
                raise
        return accepted, None

    async def withdraw(self, jobs: list[Accepted]) -> None:
        """Take back admitted jobs the user will not be shown (their message could not be posted).

        Each is marked delivered first, so the delivery loop never posts its result (not even when a worker has
        already run it), then cancelled: a queued or waiting job is removed and its slot freed at once, a running
        one stops at its next step and frees its slot then. Raises what Redis raises.
        """
        for job in jobs:
            job_id = job.spec.id
            await self.connection.set(keys.delivered(job_id), "withdrawn", nx=True, ex=keys.RECORD_TTL_S)
            state = await self.blocking.run(self.queue.cancel, job_id)
            await self.pending.done(job_id)
            log.info("job %s: withdrawn (its message could not be shown; %s)", job_id, state)

    async def enqueue_in_time(
        self, interaction: discord.Interaction, jobs: list[tuple[JobSpec, JobRecord]], started: float
    ) -> tuple[list[Accepted], EnqueueError | None]:
        """``enqueue_all`` under ``in_time``."""
        return await self.in_time(interaction, self.enqueue_all(jobs), started)

    async def in_time(self, interaction: discord.Interaction, work: Coroutine[Any, Any, T], started: float) -> T:
        """``work`` (what decides the answer), deferring the interaction if it is not done by ACK_BUDGET_S after
        ``started``.

        Admitting takes milliseconds, but a starved machine, or a burst waiting for Redis connections (the pool
        blocks for up to ``redis_pool_timeout_s``), must not miss Discord's 3 seconds: then the answer becomes a
        deferral and the caller's messages go out as follow-ups. Exceptions of ``work`` propagate.
        """
        task = asyncio.ensure_future(work)
        try:
            return await asyncio.wait_for(asyncio.shield(task), max(0.0, ACK_BUDGET_S - (time.monotonic() - started)))
        except TimeoutError:
            log.warning("interaction %s: admission is slow; deferring the answer", interaction.id)
            try:
                if interaction.type is discord.InteractionType.component:
                    await interaction.response.defer()
                else:
                    await interaction.response.defer(thinking=True)
            except discord.HTTPException as exc:
                # The work goes on regardless: the caller answers (or, failing that, withdraws what it admitted).
                log.warning("interaction %s: could not defer (%s)", interaction.id, exc)
            return await task

    async def withdraw_unshown(self, interaction: discord.Interaction, jobs: list[Accepted]) -> None:
        """Withdraw jobs whose message could not be posted, and tell the user so: their one answer about them."""
        try:
            await self.withdraw(jobs)
        except Exception:
            # Redis is gone too: the jobs may still run. Say what is known, no more.
            log.exception("jobs %s: could not be withdrawn", [job.spec.id for job in jobs])
            await answer_error(interaction, messages.internal_error(None))
            return
        await answer_error(interaction, messages.not_shown(len(jobs)))

    async def attach_message(
        self, accepted: Accepted, message_id: int | None, interaction: discord.Interaction | None = None
    ) -> None:
        """Remember the job's progress message (and the interaction token, as a fallback while it lives)."""
        record = accepted.record
        record.message_id = message_id
        if interaction is not None:
            record.application_id = interaction.application_id
            record.token = interaction.token
            record.token_expires_at = time.time() + TOKEN_LIFETIME_S
        await self.records.save(record)

    async def already_delivered(self, job_id: str) -> bool:
        """Whether the job's result was posted (a fast job can finish before its first message is recorded)."""
        return bool(await self.connection.exists(keys.delivered(job_id)))


def refusal_embed(error: EnqueueError) -> discord.Embed:
    """The embed answering a refused job."""
    if error.reason in ("queue_full", "user_limit"):
        return messages.queue_full(error.message)
    if error.reason == "parent_expired":
        return messages.job_expired()
    return messages.error_embed("Job refused", error.message)

"""Jobs as the bot sees them: what each button asks for, and the record of where to deliver.

A ``JobRecord`` is written when a job is accepted and read by the delivery loop (possibly in a later bot
process): it says which message shows the job's progress and where its result goes. Delivery uses the bot's
channel API; the interaction token is kept only as a fallback for places the bot cannot post, and only while it
lives (15 minutes).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import discord
from pydantic import BaseModel, Field, ValidationError

from bot import keys
from bot.custom_ids import Action
from worker.spec import JobKind, JobSpec, Mode, Requester, Strength

if TYPE_CHECKING:
    import redis.asyncio

log = logging.getLogger(__name__)

# Discord's interaction tokens live 15 minutes; stop relying on one a little before that.
TOKEN_LIFETIME_S = 15 * 60 - 30


class JobRecord(BaseModel):
    """Where a job's messages are, and what they say."""

    job_id: str
    kind: JobKind
    user_id: int
    channel_id: int
    guild_id: int | None = None
    prompt: str
    mode: Mode = Mode.FAST
    index: int = 0
    message_id: int | None = None  # the progress message (the first response, or a follow-up's message)
    reply_to: int | None = None  # the message whose button made this job
    application_id: int | None = None
    token: str | None = Field(default=None, repr=False)
    token_expires_at: float = 0.0

    @classmethod
    def for_spec(
        cls, spec: JobSpec, *, prompt: str | None = None, index: int = 0, reply_to: int | None = None
    ) -> JobRecord:
        """The record of a job about to be enqueued: who asked and where from the spec's requester.

        ``prompt`` is the prompt as the user's messages show it (default: the spec's), ``index`` the image a
        follow-up is about, ``reply_to`` the message whose button made the job.
        """
        requester = spec.requester
        return cls(
            job_id=spec.id,
            kind=spec.kind,
            user_id=requester.user_id,
            channel_id=requester.channel_id,
            guild_id=requester.guild_id,
            prompt=spec.prompt.text if prompt is None else prompt,
            mode=spec.mode,
            index=index,
            reply_to=reply_to,
        )

    def live_token(self) -> str | None:
        """The interaction token while it still works, else None."""
        return self.token if self.token and time.time() < self.token_expires_at else None


class CancelReply(BaseModel):
    """The "Cancelling the job…" answer to an owner's ❌ on a running job: edited through the press's interaction
    token (the bot cannot edit an ephemeral message otherwise) once the job ends."""

    application_id: int
    token: str = Field(repr=False)
    message_id: int


class JobRecords:
    """JobRecords in Redis, and the cancel replies waiting for their job to end."""

    def __init__(self, connection: redis.asyncio.Redis):
        self.connection = connection

    async def save(self, record: JobRecord) -> None:
        """Store (or replace) a record."""
        await self.connection.set(keys.record(record.job_id), record.model_dump_json(), ex=keys.RECORD_TTL_S)

    async def load(self, job_id: str) -> JobRecord | None:
        """The job's record, or None when unknown or expired."""
        raw = await self.connection.get(keys.record(job_id))
        if raw is None:
            return None
        try:
            return JobRecord.model_validate_json(raw)
        except ValidationError:
            log.warning("job %s: stored record no longer parses", job_id)
            return None

    async def save_cancel_reply(self, job_id: str, reply: CancelReply) -> None:
        """Keep the answer to a ❌ press while its token lives, to say how the job ended."""
        await self.connection.set(keys.cancel_reply(job_id), reply.model_dump_json(), ex=TOKEN_LIFETIME_S)

    async def take_cancel_reply(self, job_id: str) -> CancelReply | None:
        """The job's waiting cancel reply, removed (so it is edited once, by whoever takes it), or None."""
        raw = await self.connection.getdel(keys.cancel_reply(job_id))
        if raw is None:
            return None
        try:
            return CancelReply.model_validate_json(raw)
        except ValidationError:
            return None


# Button action → (job kind, strength); VARY's strength comes from the presser's settings.
_FOLLOW_UPS: dict[Action, tuple[JobKind, Strength | None]] = {
    Action.UPSCALE: (JobKind.UPSCALE, Strength.SUBTLE),
    Action.VARY: (JobKind.VARIATION, None),
    Action.REROLL: (JobKind.REROLL, None),
    Action.VARY_STRONG: (JobKind.VARIATION, Strength.STRONG),
    Action.VARY_SUBTLE: (JobKind.VARIATION, Strength.SUBTLE),
    Action.UPSCALE_SUBTLE: (JobKind.UPSCALE, Strength.SUBTLE),
    Action.UPSCALE_CREATIVE: (JobKind.UPSCALE, Strength.CREATIVE),
}


def follow_up_kind(action: Action, variation: Strength) -> tuple[JobKind, Strength | None]:
    """The kind and strength of the job a button asks for (``worker.spec.follow_up_spec`` makes its spec).

    ``variation`` is the presser's variation strength, used by the plain V buttons. Raises KeyError for CANCEL.
    A reroll names its parent (for the record) but starts from fresh noise, not from the parent's image.
    """
    kind, strength = _FOLLOW_UPS[action]
    return kind, variation if action is Action.VARY else strength


def requester_of(interaction: discord.Interaction) -> Requester:
    """Who pressed or typed, and where: the requester of the job an interaction asks for.

    Raises ValueError for an interaction without a channel (commands and buttons always have one).
    """
    if interaction.channel_id is None:
        raise ValueError(f"interaction {interaction.id} has no channel")
    return Requester(user_id=interaction.user.id, channel_id=interaction.channel_id, guild_id=interaction.guild_id)

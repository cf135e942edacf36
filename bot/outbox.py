"""Posting, editing and deleting the bot's job messages with the bot token, falling back to the interaction.

The channel API works at any time, so delivery never depends on an interaction token. Where the bot cannot use
it (missing permissions, a DM reached only through the interaction), the interaction's webhook is used while its
token lives; after that the user is told by DM that their result could not be posted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import discord

from bot import custom_ids, messages
from bot.custom_ids import Action, CustomIdError
from bot.jobs import CancelReply, JobRecord

log = logging.getLogger(__name__)

# Users whose names are remembered (then forgotten all at once): one lookup per user, not per job.
NAMES_KEPT = 1000
# Errors meaning "the bot may not use this channel" (rather than "try again").
_NO_ACCESS = (discord.Forbidden, discord.NotFound)
# How far the bot's clock may be from Discord's when a search starts at a time the bot noted.
CLOCK_SKEW_S = 60.0


class DeliveryImpossible(Exception):
    """Neither the channel nor the interaction can take the message; the user has been told if possible."""


class Outbox:
    """Sends job messages for one bot client."""

    def __init__(self, client: discord.Client):
        self.client = client
        self._names: dict[int, str] = {}  # user id → name, for the job lines in the log

    def _channel(self, record: JobRecord) -> discord.PartialMessageable:
        return self.client.get_partial_messageable(record.channel_id, guild_id=record.guild_id)

    def _webhook(self, record: JobRecord) -> discord.Webhook | None:
        token = record.live_token()
        if token is None or record.application_id is None:
            return None
        return discord.Webhook.partial(record.application_id, token, client=self.client)

    async def send(
        self, record: JobRecord, *, interaction: discord.Interaction | None = None, **kwargs: Any
    ) -> discord.Message | None:
        """Post a message for the job; raises DeliveryImpossible when it cannot go anywhere.

        ``kwargs`` are ``Messageable.send`` arguments; ``reference`` and ``nonce`` are dropped on the webhook
        fallback (webhooks take neither). discord.py sends a ``nonce`` with ``enforce_nonce``: Discord then answers
        a repeat within a few minutes with the message the first post made instead of posting again.
        """
        try:
            return await self._channel(record).send(**kwargs)
        except _NO_ACCESS as exc:
            log.warning(
                "job %s: cannot post in channel %s (%s); trying the interaction",
                record.job_id,
                record.channel_id,
                exc.status,
            )
        kwargs.pop("reference", None)
        kwargs.pop("nonce", None)
        if interaction is not None and not interaction.is_expired():
            return await interaction.followup.send(wait=True, **kwargs)
        webhook = self._webhook(record)
        if webhook is not None:
            return await webhook.send(wait=True, **kwargs)
        await self.tell_user(record)
        raise DeliveryImpossible(f"job {record.job_id}: no way to post in channel {record.channel_id}")

    async def edit(self, record: JobRecord, message_id: int, **kwargs: Any) -> None:
        """Edit one of the job's messages; a message that is gone is ignored."""
        try:
            await self._channel(record).get_partial_message(message_id).edit(**kwargs)
            return
        except discord.NotFound:
            return  # deleted (e.g. a late progress edit after the result): nothing to do
        except discord.Forbidden as exc:
            log.info("job %s: cannot edit in channel %s (%s)", record.job_id, record.channel_id, exc.status)
        webhook = self._webhook(record)
        if webhook is None:
            return
        kwargs.pop("allowed_mentions", None)
        try:
            await webhook.edit_message(message_id, **kwargs)
        except _NO_ACCESS:
            log.debug("job %s: message %s is gone", record.job_id, message_id)

    async def delete(self, record: JobRecord, message_id: int) -> None:
        """Delete one of the job's messages; one that is already gone is fine."""
        try:
            await self._channel(record).get_partial_message(message_id).delete()
            return
        except discord.NotFound:
            return
        except discord.Forbidden:
            pass
        webhook = self._webhook(record)
        if webhook is not None:
            with contextlib.suppress(*_NO_ACCESS):
                await webhook.delete_message(message_id)

    async def user_name(self, user_id: int) -> str:
        """A user's name, for the log: from the client's cache, else asked of Discord once; else their id."""
        if (name := self._names.get(user_id)) is not None:
            return name
        user = self.client.get_user(user_id)  # without the members intent, rarely there
        if user is None:
            try:
                user = await self.client.fetch_user(user_id)
            except discord.HTTPException:
                return f"user {user_id}"
        if len(self._names) >= NAMES_KEPT:
            self._names.clear()
        self._names[user_id] = user.name
        return user.name

    async def edit_reply(self, reply: CancelReply, content: str) -> None:
        """Edit an answer to a button press through the press's webhook; an answer or token that is gone is fine."""
        webhook = discord.Webhook.partial(reply.application_id, reply.token, client=self.client)
        try:
            await webhook.edit_message(reply.message_id, content=content)
        except discord.HTTPException as exc:  # dismissed by the user, or the token expired
            log.info("reply %s could not be edited (%s)", reply.message_id, exc.status)

    async def find_job_message(self, record: JobRecord, limit: int = 50) -> int | None:
        """The id of a recent bot message in the job's channel showing its progress (its only button ❌), or None.

        Best effort (needs Read Message History): for a progress message whose id was never recorded.
        """
        return await self._find(record, _shows_progress, limit=limit)

    async def find_result_message(self, record: JobRecord, since: float, limit: int = 100) -> int | None:
        """The id of the job's result message (its buttons act on the job's images) in its channel, or None.

        ``since`` is when the bot first tried to post it (Unix time): the search starts a minute before that, for
        clocks that disagree. Best effort, like ``find_job_message``: for a post that Discord may have taken
        although the bot never heard back.
        """
        start = datetime.fromtimestamp(since - CLOCK_SKEW_S, tz=UTC)
        after = discord.Object(discord.utils.time_snowflake(start))
        return await self._find(record, _shows_result, limit=limit, after=after)

    async def _find(
        self,
        record: JobRecord,
        matches: Callable[[discord.Message, str], bool],
        *,
        limit: int,
        after: discord.abc.Snowflake | None = None,
    ) -> int | None:
        me = self.client.user
        try:
            async for message in self._channel(record).history(limit=limit, after=after):
                if me is not None and message.author.id != me.id:
                    continue
                if matches(message, record.job_id):
                    return message.id
        except discord.HTTPException as exc:
            log.info("job %s: cannot search channel %s for its message (%s)", record.job_id, record.channel_id, exc)
        return None

    async def tell_user(self, record: JobRecord) -> None:
        """DM the user that their result could not be posted (best effort: DMs may be closed too)."""
        try:
            user = await self.client.fetch_user(record.user_id)
            await user.send(messages.delivery_failed(record.channel_id), allowed_mentions=messages.mentions())
        except discord.HTTPException as exc:
            log.warning("job %s: could not tell user %s by DM either: %s", record.job_id, record.user_id, exc)


def _job_actions(message: discord.Message, job_id: str) -> set[Action]:
    """The actions of the message's buttons that act on the job."""
    actions = set()
    for row in message.components:
        for component in getattr(row, "children", []):
            try:
                button = custom_ids.decode(getattr(component, "custom_id", None) or "")
            except CustomIdError:
                continue
            if button.job_id == job_id:
                actions.add(button.action)
    return actions


def _shows_progress(message: discord.Message, job_id: str) -> bool:
    """A job's progress message: ❌ is its only button."""
    return _job_actions(message, job_id) == {Action.CANCEL}


def _shows_result(message: discord.Message, job_id: str) -> bool:
    """A job's result: buttons acting on its images (U/V, 🔄, Vary/Upscale) besides ❌."""
    return bool(_job_actions(message, job_id) - {Action.CANCEL})

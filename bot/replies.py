"""Answering an interaction with an error, whatever state the interaction is in."""

from __future__ import annotations

import logging

import discord
import redis.exceptions

from bot import messages

log = logging.getLogger(__name__)

# Redis cannot be reached (down, restarting, or every pooled connection busy past the pool's timeout).
QUEUE_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def error_embed_for(error: BaseException, job_id: str | None = None) -> discord.Embed:
    """What to tell a user whose command or button failed with ``error`` (discord.py's wrapper unwrapped).

    An unreachable queue is said plainly ("try again"); anything else is an Internal error.
    """
    cause = getattr(error, "original", error)  # app_commands.CommandInvokeError wraps the callback's exception
    if isinstance(cause, QUEUE_UNREACHABLE):
        return messages.queue_unavailable(job_id)
    return messages.internal_error(job_id)


async def answer_error(interaction: discord.Interaction, embed: discord.Embed) -> None:
    """An ephemeral error, whether or not the interaction was answered already; never raises for Discord errors."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not answer interaction %s with an error: %s", interaction.id, exc)

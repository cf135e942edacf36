"""What a user is told when a command or button fails: an unreachable queue is said plainly."""

from __future__ import annotations

import redis.exceptions
from discord import app_commands

from bot.replies import error_embed_for


def test_an_unreachable_queue_is_not_an_internal_error() -> None:
    """Redis connection errors and timeouts (wrapped by discord.py or not) answer "Queue unavailable"."""
    lost = redis.exceptions.ConnectionError("Connection closed by server.")
    wrapped = app_commands.CommandInvokeError.__new__(app_commands.CommandInvokeError)
    wrapped.original = lost
    assert error_embed_for(lost).title == "Queue unavailable"
    assert error_embed_for(wrapped).title == "Queue unavailable"
    assert error_embed_for(redis.exceptions.TimeoutError()).title == "Queue unavailable"
    assert error_embed_for(redis.exceptions.MaxConnectionsError()).title == "Queue unavailable"
    embed = error_embed_for(ValueError("bug"), "abc")
    assert embed.title == "Internal error" and embed.footer.text == "Job abc"

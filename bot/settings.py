"""Bot settings, read from ``IMAGINE_*`` environment variables (and ``.env``); built in ``main()``, never at import.

The Discord token is accepted as ``DISCORD_TOKEN`` or ``IMAGINE_DISCORD_TOKEN`` and kept as a SecretStr, so it never
appears in ``repr`` or logs. Queue-side settings (Redis URL, limits, TTLs) are the worker's ``QueueSettings``, read
from the same environment, so the bot and the workers cannot disagree about them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from worker.settings import ENV_CONFIG


def _split_list(value: object) -> object:
    """Accept "a,b,c" as well as a JSON list, so a plain comma list works in an env file."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class BotSettings(BaseSettings):
    """Everything the Discord front end needs besides the queue."""

    model_config = SettingsConfigDict(**ENV_CONFIG, populate_by_name=True)  # read as the workers read theirs

    discord_token: SecretStr = Field(validation_alias=AliasChoices("IMAGINE_DISCORD_TOKEN", "DISCORD_TOKEN"))
    # Guilds whose command list is synced directly (instant); without any, commands are synced globally.
    guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # The root URL of a Discord to talk to instead of discord.com (IMAGINE_DISCORD_URL): the local emulator
    # (``python -m sandbox``) in tests and demos. REST goes to <url>/api/v10, the gateway to ws://<url>/gateway.
    discord_url: str | None = None

    # The model a prompt without --v/--niji/--version goes to when its user chose none in /settings: a name or
    # alias on a live worker's card. Unset: the only model online, or the first by name. Everything else about a
    # model (sizes, steps, guidance, what it can do) comes from the cards its workers publish, never from here.
    default_model: str | None = None

    # Whole words (case-insensitive) that make a prompt refused with "Banned prompt detected".
    banned_words: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # At most one progress edit of a job's message per this many seconds (Discord rate limits edits).
    progress_edit_interval_s: float = Field(default=2.0, ge=0)

    # The event-stream consumer group and this bot's stable name in it: a restarted bot with the same name
    # gets back the events it had read but not handled.
    consumer_group: str = "bot"
    consumer_name: str = "bot-1"
    # Events another consumer left unacknowledged this long are taken over (and failed posts retried).
    reclaim_idle_ms: int = Field(default=30_000, ge=1_000)
    # How often the pending jobs are checked for ones the queue lost (Redis restarted without persistence); a job
    # missing from Redis in two checks in a row is lost and its user told. Keep it above the workers'
    # heartbeat_s / 3, so a job a worker is still running is seen again first.
    reconcile_interval_s: float = Field(default=60.0, ge=1.0)

    # Prometheus metrics of ``imagine bot`` at http://<IMAGINE_METRICS_HOST>:<bot_metrics_port>/metrics (the host
    # is the queue settings' metrics_host, shared with the workers); 0: none.
    bot_metrics_port: int = Field(default=0, ge=0, le=65535)

    @field_validator("guild_ids", "banned_words", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("discord_url")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

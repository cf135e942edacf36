"""Per-user defaults chosen with /settings, kept in Redis and applied to later prompts.

Defaults never override the prompt: a parameter typed in the prompt wins over the same one from the suffix,
which wins over the stylize/aspect defaults. Like Midjourney's ``/prefer suffix``, the suffix is appended to
every prompt (its words go before the prompt's parameters, its parameters after them).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot import keys
from bot.flags import PARAMS, flag_name, split_flags
from worker.spec import Mode, Strength

if TYPE_CHECKING:
    import redis.asyncio

log = logging.getLogger(__name__)

# Each spelling of a parameter → its first name, so "--s" in the prompt overrides a default "--stylize".
_CANONICAL = {name: param.names[0] for param in PARAMS for name in param.names}
# --fast and --relax both choose the mode.
_CANONICAL.update({"fast": "mode", "relax": "mode"})

STYLIZE_CHOICES = (0, 50, 100, 250, 500, 750, 1000)
ASPECT_CHOICES = ("1:1", "2:3", "3:2", "4:5", "16:9", "9:16")
MAX_SUFFIX = 200


class UserSettings(BaseModel):
    """A user's defaults; None means "the server's default"."""

    model_config = ConfigDict(extra="ignore")

    stylize: int | None = Field(default=None, ge=0, le=1000)
    aspect: str | None = None
    mode: Mode = Mode.FAST
    variation: Strength = Strength.STRONG
    suffix: str = Field(default="", max_length=MAX_SUFFIX)
    # The model of prompts without --v (a name or alias on a live card); None: the server's default.
    model: str | None = Field(default=None, min_length=1, max_length=100)

    def apply(self, text: str) -> str:
        """The prompt text with this user's suffix and defaults added where the prompt does not say otherwise."""
        prompt, flag_words = split_flags(text)
        groups = _groups(flag_words)
        given = {_canonical(group[0]) for group in groups}
        if self.suffix.strip():
            suffix_prompt, suffix_flags = split_flags(self.suffix)
            prompt = f"{prompt} {suffix_prompt}".strip()
            for group in _groups(suffix_flags):
                if _canonical(group[0]) not in given:
                    groups.append(group)
                    given.add(_canonical(group[0]))
        if self.aspect and "ar" not in given:
            groups.append(["--ar", self.aspect])
        if self.stylize is not None and "stylize" not in given:
            groups.append(["--stylize", str(self.stylize)])
        return " ".join([prompt, *(" ".join(group) for group in groups)]).strip()


def _canonical(word: str) -> str:
    name = flag_name(word) or word
    return _CANONICAL.get(name, name)


def _groups(flag_words: list[str]) -> list[list[str]]:
    """Parameter words grouped as [flag, values...]."""
    groups: list[list[str]] = []
    for word in flag_words:
        if flag_name(word) is not None or not groups:
            groups.append([word])
        else:
            groups[-1].append(word)
    return groups


class UserSettingsStore:
    """Load and save UserSettings in Redis."""

    def __init__(self, connection: redis.asyncio.Redis):
        self.connection = connection

    async def load(self, user_id: int) -> UserSettings:
        """The user's settings; defaults when none are stored or the stored ones no longer parse."""
        raw = await self.connection.get(keys.user_settings(user_id))
        if raw is None:
            return UserSettings()
        try:
            return UserSettings.model_validate_json(raw)
        except ValidationError:
            log.warning("user %s: stored settings no longer parse; using defaults", user_id)
            return UserSettings()

    async def save(self, user_id: int, settings: UserSettings) -> None:
        """Store the user's settings."""
        await self.connection.set(keys.user_settings(user_id), settings.model_dump_json())

    async def reset(self, user_id: int) -> None:
        """Forget the user's settings."""
        await self.connection.delete(keys.user_settings(user_id))

"""Discord's rules for bots, which the emulator enforces and records when broken.

A broken rule is both answered the way Discord answers it (an error response) and recorded as a `Violation`, so a
test fails even when the bot swallows the error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sandbox.models import iter_components

log = logging.getLogger(__name__)

INITIAL_RESPONSE_DEADLINE_S = 3.0  # an interaction must be acknowledged within 3 seconds
TOKEN_LIFETIME_S = 15 * 60.0  # follow-ups and @original edits work for 15 minutes
# A message sent with a nonce and enforce_nonce is not created again for a repeat from the same author within
# "the past few minutes" (Discord's words); the emulator takes the short end, so a bot cannot lean on more.
NONCE_WINDOW_S = 3 * 60.0
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_ATTACHMENTS = 10
MAX_FILE_BYTES = 10 * 1024 * 1024  # the upload limit for a server without boosts
MAX_CUSTOM_ID = 100
MAX_ACTION_ROWS = 5
MAX_ROW_ITEMS = 5


class Rule(StrEnum):
    """Names for what a bot can do wrong; tests assert on these."""

    SCHEMA = "schema"
    CONTENT_TOO_LONG = "content_too_long"
    EMPTY_MESSAGE = "empty_message"
    TOO_MANY_EMBEDS = "too_many_embeds"
    TOO_MANY_ATTACHMENTS = "too_many_attachments"
    FILE_TOO_LARGE = "file_too_large"
    CUSTOM_ID_TOO_LONG = "custom_id_too_long"
    DUPLICATE_CUSTOM_ID = "duplicate_custom_id"
    TOO_MANY_ROWS = "too_many_action_rows"
    TOO_MANY_ROW_ITEMS = "too_many_row_items"
    LATE_RESPONSE = "late_initial_response"
    NO_RESPONSE = "no_initial_response"
    ALREADY_ACKNOWLEDGED = "already_acknowledged"
    TOKEN_EXPIRED = "interaction_token_expired"
    NOT_ACKNOWLEDGED = "followup_before_response"
    BAD_CALLBACK = "invalid_callback_type"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "unknown_resource"
    NOT_EMULATED = "not_emulated"
    EMULATOR_ERROR = "emulator_error"


@dataclass(frozen=True)
class Violation:
    """One broken rule, with the request that broke it."""

    rule: Rule
    detail: str
    method: str = ""
    path: str = ""

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail} ({self.method} {self.path})"


class Violations:
    """The emulator's record of broken rules, read and cleared by tests."""

    def __init__(self) -> None:
        self._items: list[Violation] = []

    def add(self, violation: Violation) -> None:
        """Record a violation and log it, since a bot that swallows the 400 otherwise hides it."""
        log.warning("Discord rule broken: %s", violation)
        self._items.append(violation)

    def __iter__(self) -> Iterator[Violation]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def pop_all(self) -> list[Violation]:
        """Every violation recorded so far, clearing the record."""
        items, self._items = self._items, []
        return items


def check_message(body: dict[str, Any], files: list[tuple[str, bytes]], *, editing: bool = False) -> list[Violation]:
    """Discord's limits on a message body and its uploaded files; a new message must also not be empty."""
    found: list[Violation] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        found.append(Violation(Rule.CONTENT_TOO_LONG, f"content is {len(content)} characters, limit {MAX_CONTENT}"))
    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        found.append(Violation(Rule.TOO_MANY_EMBEDS, f"{len(embeds)} embeds, limit {MAX_EMBEDS}"))
    if len(files) > MAX_ATTACHMENTS:
        found.append(Violation(Rule.TOO_MANY_ATTACHMENTS, f"{len(files)} files, limit {MAX_ATTACHMENTS}"))
    for name, data in files:
        if len(data) > MAX_FILE_BYTES:
            found.append(Violation(Rule.FILE_TOO_LARGE, f"{name} is {len(data)} bytes, limit {MAX_FILE_BYTES}"))
    found += check_components(body.get("components") or [])
    has_any = content or embeds or files or body.get("components") or body.get("sticker_ids") or body.get("poll")
    if not editing and not has_any:
        found.append(Violation(Rule.EMPTY_MESSAGE, "a message needs content, embeds, components or files"))
    return found


def check_components(components: list[dict[str, Any]]) -> list[Violation]:
    """Limits on buttons: at most 5 rows of 5, custom_ids unique and at most 100 characters."""
    found: list[Violation] = []
    rows = [c for c in components if c.get("type") == 1]
    if len(rows) > MAX_ACTION_ROWS:
        found.append(Violation(Rule.TOO_MANY_ROWS, f"{len(rows)} action rows, limit {MAX_ACTION_ROWS}"))
    for index, row in enumerate(rows):
        items = row.get("components") or []
        if len(items) > MAX_ROW_ITEMS:
            found.append(Violation(Rule.TOO_MANY_ROW_ITEMS, f"row {index} has {len(items)} items, limit 5"))
    seen: set[str] = set()
    for component in iter_components(components):
        custom_id = component.get("custom_id")
        if not isinstance(custom_id, str):
            continue
        if len(custom_id) > MAX_CUSTOM_ID:
            detail = f"custom_id {custom_id[:30]!r}… is {len(custom_id)} characters, limit {MAX_CUSTOM_ID}"
            found.append(Violation(Rule.CUSTOM_ID_TOO_LONG, detail))
        if custom_id in seen:
            found.append(Violation(Rule.DUPLICATE_CUSTOM_ID, f"custom_id {custom_id!r} is used twice in one message"))
        seen.add(custom_id)
    return found


_CREATES = ("/channels/{channel_id}/messages", "/webhooks/{webhook_id}/{webhook_token}")
_EDITS = ("/channels/{channel_id}/messages/{message_id}", "/webhooks/{webhook_id}/{webhook_token}/messages/")


def message_in(method: str, template: str, body: Any) -> tuple[dict[str, Any], bool] | None:
    """The message a request body carries, and whether it edits one; None when it carries no message.

    Interaction callbacks carry one in `data` for types 4 (new message) and 7 (edit the clicked message).
    """
    if not isinstance(body, dict):
        return None
    if template.endswith("/callback"):
        kind = body.get("type")
        return (body.get("data") or {}, kind == 7) if kind in (4, 7) else None
    if method == "POST" and template in _CREATES:
        return body, False
    if method == "PATCH" and template.startswith(_EDITS):
        return body, True
    return None

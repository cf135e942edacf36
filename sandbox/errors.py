"""Discord-style API errors: the status, JSON error code and message Discord answers with."""

from __future__ import annotations

from typing import Any

from sandbox.rules import Rule, Violation

UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
UNKNOWN_APPLICATION = 10002
UNKNOWN_COMMAND = 10063
UNKNOWN_INTERACTION = 10062
ALREADY_ACKNOWLEDGED = 40060
INVALID_WEBHOOK_TOKEN = 50027
INVALID_FORM_BODY = 50035
EMPTY_MESSAGE = 50006


class DiscordError(Exception):
    """An error response in Discord's shape; `violations` are the rules of Discord's the request broke, if any."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        rule: Rule | None = None,
        violations: list[Violation] | None = None,
        errors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.violations = list(violations or [])
        if rule is not None:
            self.violations.append(Violation(rule, message))
        self.errors = errors

    def body(self) -> dict[str, Any]:
        """The JSON body Discord sends with this error."""
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def broken_rules(found: list[Violation]) -> DiscordError:
    """The 400 Discord answers a body that breaks its limits with, carrying every limit broken."""
    status, code = (413, 40005) if all(v.rule is Rule.FILE_TOO_LARGE for v in found) else (400, INVALID_FORM_BODY)
    if any(v.rule is Rule.EMPTY_MESSAGE for v in found):
        status, code = 400, EMPTY_MESSAGE
    errors = {"_errors": [{"code": str(v.rule).upper(), "message": v.detail} for v in found]}
    message = "Invalid Form Body: " + "; ".join(v.detail for v in found)
    return DiscordError(status, code, message, violations=found, errors=errors)


def unknown(what: str, code: int) -> DiscordError:
    """A 404 for an id that does not exist, e.g. unknown("Message", 10008)."""
    return DiscordError(404, code, f"Unknown {what}")

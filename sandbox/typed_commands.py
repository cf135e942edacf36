"""What a person types into the web page's message box, turned into a slash command and its options.

Discord's client builds options from a form; the page has one text box, so `/imagine a red fox --ar 3:2` gives the
whole rest to the command's first text option, and `name:value` pairs (`/settings suffix: --ar 3:2`) name options
explicitly, as Discord's client shows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.models import User
from sandbox.options import SUB_COMMAND, SUB_COMMAND_GROUP, USER

STRING, INTEGER, BOOLEAN, NUMBER = 3, 4, 5, 10
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


class TypedCommandError(ValueError):
    """The text is not a command the bot has, or its options do not fit; the message is shown to the person."""


@dataclass
class TypedCommand:
    """A slash command as `Sandbox.slash` takes it: "name" or "group sub", and option values by name."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)


def parse_typed(text: str, commands: list[dict[str, Any]], users: list[User]) -> TypedCommand:
    """Parse `/name [sub] rest` against the synced command specs (Discord's JSON); raises TypedCommandError."""
    words = text.strip().removeprefix("/").split(" ", 1)
    name, rest = words[0], words[1] if len(words) > 1 else ""
    spec = next((c for c in commands if c.get("name") == name and c.get("type", 1) == 1), None)
    if spec is None:
        known = ", ".join(f"/{n}" for n in sorted({c["name"] for c in commands})) or "none yet"
        raise TypedCommandError(f"The bot has no command /{name} (it has: {known})")
    path = [name]
    declared = spec.get("options") or []
    while declared and all(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in declared):
        head, _, tail = rest.strip().partition(" ")
        sub = next((o for o in declared if o["name"] == head), None)
        if sub is None:
            choices = ", ".join(o["name"] for o in declared)
            raise TypedCommandError(f"/{' '.join(path)} needs one of: {choices}")
        path.append(head)
        declared, rest = sub.get("options") or [], tail
    return TypedCommand(" ".join(path), _options(declared, rest.strip(), users, " ".join(path)))


def _options(declared: list[dict[str, Any]], rest: str, users: list[User], command: str) -> dict[str, Any]:
    by_name = {o["name"]: o for o in declared}
    raw: dict[str, str] = {}
    names = "|".join(re.escape(n) for n in by_name)
    explicit = re.match(rf"^({names}):", rest) if names else None
    if explicit:
        # "a: 1 b: two words" → each name: runs until the next declared name:
        parts = re.split(rf"(?:^|\s)({names}):", rest)
        raw = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    elif rest:
        ordered = sorted(declared, key=lambda o: not o.get("required"))
        target = next((o for o in ordered if o["type"] == STRING), None)
        if target is None:
            raise TypedCommandError(f"/{command} takes no text; options: {', '.join(by_name) or 'none'}")
        raw = {target["name"]: rest}
    missing = [o["name"] for o in declared if o.get("required") and not raw.get(o["name"])]
    if missing:
        raise TypedCommandError(f"/{command} needs {', '.join(missing)}: type /{command} <{missing[0]}>")
    return {key: _convert(by_name[key], value, users, command) for key, value in raw.items() if value}


def _convert(spec: dict[str, Any], value: str, users: list[User], command: str) -> Any:
    kind, name = spec["type"], spec["name"]
    try:
        if kind == INTEGER:
            return int(value)
        if kind == NUMBER:
            return float(value)
    except ValueError:
        raise TypedCommandError(f"/{command} {name}: {value!r} is not a number") from None
    if kind == BOOLEAN:
        if value.lower() not in _TRUE | _FALSE:
            raise TypedCommandError(f"/{command} {name}: say true or false, not {value!r}")
        return value.lower() in _TRUE
    if kind == USER:
        wanted = value.removeprefix("@")
        found = next((u for u in users if wanted in (u.username, str(u.id), f"<@{u.id}>")), None)
        if found is None:
            raise TypedCommandError(f"/{command} {name}: no user {value!r}")
        return found
    choices = {str(c["value"]): c["value"] for c in spec.get("choices") or []}
    if choices:
        if value not in choices:
            raise TypedCommandError(f"/{command} {name}: one of {', '.join(choices)}")
        return choices[value]
    return value

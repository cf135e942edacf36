"""Slash command options as Discord's client builds them: checked against what the command declares."""

from __future__ import annotations

from typing import Any

from sandbox import payloads
from sandbox.models import User

_OPTION_TYPES: dict[int, type | tuple[type, ...]] = {3: str, 4: int, 5: bool, 10: (int, float)}
SUB_COMMAND, SUB_COMMAND_GROUP, USER = 1, 2, 6


def build_options(
    declared: list[dict[str, Any]], path: list[str], given: dict[str, Any], resolved: dict[str, Any], command: str
) -> list[dict[str, Any]]:
    """The interaction's `options`, checked against what the command declares, as Discord's client would.

    `path` names the subcommand (group) to descend into. Raises LookupError for an unknown subcommand, TypeError for
    undeclared, missing or mistyped options, ValueError for a value outside the declared choices.
    """
    if path:
        subs = [o for o in declared if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
        sub = next((o for o in subs if o["name"] == path[0]), None)
        if sub is None:
            raise LookupError(f"/{command}: no subcommand {path[0]!r}")
        inner = build_options(sub.get("options") or [], path[1:], given, resolved, command)
        return [{"name": sub["name"], "type": sub["type"], "options": inner}]
    by_name = {o["name"]: o for o in declared}
    unknown = set(given) - set(by_name)
    if unknown:
        raise TypeError(f"/{command} has no options {sorted(unknown)}; it declares {sorted(by_name)}")
    missing = [o["name"] for o in declared if o.get("required") and o["name"] not in given]
    if missing:
        raise TypeError(f"/{command} needs options {missing}")
    options = []
    for name, value in given.items():
        spec = by_name[name]
        options.append({"name": name, "type": spec["type"], "value": _option_value(spec, value, resolved, command)})
    return options


def _option_value(spec: dict[str, Any], value: Any, resolved: dict[str, Any], command: str) -> Any:
    kind = spec["type"]
    if kind == USER:
        if not isinstance(value, User):
            raise TypeError(f"/{command} option {spec['name']!r} takes a User, got {value!r}")
        resolved.setdefault("users", {})[str(value.id)] = payloads.user_json(value)
        return str(value.id)
    expected = _OPTION_TYPES.get(kind)
    if expected is None:
        raise NotImplementedError(f"option type {kind} ({spec['name']!r}) is not emulated yet")
    if not isinstance(value, expected) or (kind != 5 and isinstance(value, bool)):
        raise TypeError(f"/{command} option {spec['name']!r} takes {expected}, got {value!r}")
    choices = [c["value"] for c in spec.get("choices") or []]
    if choices and value not in choices:
        raise ValueError(f"/{command} option {spec['name']!r} must be one of {choices}, got {value!r}")
    return value

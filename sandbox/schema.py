"""Request-body validation against Discord's official OpenAPI document.

The document is not part of this project: it is loaded from `../shared/discord-openapi.json` beside the repository,
or from the path in IMAGINE_DISCORD_OPENAPI. Without it the emulator still runs and only skips this check.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

log = logging.getLogger(__name__)

SPEC_ENV = "IMAGINE_DISCORD_OPENAPI"
# sandbox/schema.py → the repository → the folder holding it, where shared/ lives beside the repository.
DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "discord-openapi.json"
_SPEC_URI = "urn:discord-openapi"


def spec_path() -> Path:
    """Where the OpenAPI document is expected: the env override, else shared/ beside the repository."""
    override = os.environ.get(SPEC_ENV)
    return Path(override) if override else DEFAULT_SPEC_PATH


def _pointer(*parts: str) -> str:
    """A URI-fragment JSON pointer; path templates contain '/', '{' and '@', which need escaping."""
    return "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="") for p in parts)


class SpecValidator:
    """Validates JSON request bodies by HTTP method and OpenAPI path template."""

    def __init__(self, spec: dict[str, Any]) -> None:
        spec = copy.deepcopy(spec)
        # Discord accepts snowflakes as JSON integers as well as strings (discord.py sends attachment ids as ints),
        # but the document types them as strings only; widen the one shared definition rather than every use.
        schemas = spec["components"]["schemas"]
        snowflake = schemas["SnowflakeType"]
        schemas["SnowflakeType"] = {"oneOf": [snowflake, {"type": "integer", "minimum": 0}]}
        self._spec = spec
        self._registry: Registry = Registry().with_resource(_SPEC_URI, DRAFT202012.create_resource(spec))
        self._validators: dict[tuple[str, str], Draft202012Validator | None] = {}

    @classmethod
    def load(cls, path: Path | None = None) -> SpecValidator | None:
        """The validator for the document at `path` (default: `spec_path()`), or None when it is absent."""
        path = path or spec_path()
        if not path.is_file():
            log.warning("Discord OpenAPI document not found at %s; request bodies will not be validated", path)
            return None
        return _load_cached(str(path))

    def has_operation(self, method: str, template: str) -> bool:
        """Whether the document describes `method template` at all."""
        return method.lower() in self._spec["paths"].get(template, {})

    def validate(self, method: str, template: str, body: Any) -> list[str]:
        """Human-readable problems with `body` for this operation; empty when valid or when nothing is specified."""
        validator = self._validator(method.lower(), template)
        if validator is None:
            return []
        problems = []
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(body)"
            detail = error.message
            if error.context:
                # For a oneOf/anyOf the top message is vague; the deepest alternative errors say what was wrong.
                best = sorted(error.context, key=lambda e: -len(e.absolute_path))[:3]
                detail += " [" + "; ".join(e.message[:160] for e in best) + "]"
            problems.append(f"{where}: {detail[:600]}")
        return problems

    def _validator(self, method: str, template: str) -> Draft202012Validator | None:
        key = (method, template)
        if key not in self._validators:
            operation = self._spec["paths"].get(template, {}).get(method, {})
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                self._validators[key] = None
            else:
                pointer = _pointer("paths", template, method, "requestBody", "content", "application/json", "schema")
                ref = {"$ref": f"{_SPEC_URI}#/{pointer}"}
                self._validators[key] = Draft202012Validator(ref, registry=self._registry)
        return self._validators[key]


@cache
def _load_cached(path: str) -> SpecValidator:
    # Parsing 1 MB of JSON and compiling schemas is the slow part; tests start many emulators in one process.
    with open(path, encoding="utf-8") as f:
        return SpecValidator(json.load(f))

"""Whether Discord's OpenAPI document is here for the tests that validate requests against it.

Locally, a missing document skips those tests (it lives in ../shared/, beside the repository, never in it).
Under CI it is an error: CI lays shared/ out beside the clone, so a skip there would hide that nothing was
validated.
"""

from __future__ import annotations

import os

import pytest

from sandbox.schema import spec_path


def openapi_missing() -> str | None:
    """Why requests cannot be validated here, or None when they can; under CI a missing document is an error."""
    if spec_path().is_file():
        return None
    reason = f"Discord's OpenAPI document is not at {spec_path()} (set IMAGINE_DISCORD_OPENAPI)"
    if os.environ.get("CI"):
        raise RuntimeError(f"CI must validate requests against Discord's OpenAPI document, but {reason}")
    return reason


# Marks a test that needs the document: skipped without it locally, failing without it under CI.
needs_openapi = pytest.mark.skipif(openapi_missing() is not None, reason=openapi_missing() or "")

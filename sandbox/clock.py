"""The emulator's clock: real time that a test can push forward.

Discord's interaction deadlines (3 s to respond, 15 min for the token) are checked against this clock, so a test
proves a late delivery without sleeping for a quarter of an hour.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Monotonic seconds plus an offset that only ever grows."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Seconds on a monotonic scale, including every `advance`."""
        return time.monotonic() + self._offset

    def utcnow(self) -> datetime:
        """Wall-clock time including every `advance`, for message timestamps."""
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def advance(self, seconds: float) -> None:
        """Move time forward; raises ValueError for a negative step, since deadlines must never un-expire."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        self._offset += seconds

"""The banned-word check: a prompt containing a configured word is refused before anything is queued."""

from __future__ import annotations

import re
from collections.abc import Iterable


class BannedWords:
    """Whole-word, case-insensitive matching of a configured list (``IMAGINE_BANNED_WORDS``)."""

    def __init__(self, words: Iterable[str]):
        self.words = sorted({w.strip().casefold() for w in words if w.strip()})
        alternatives = "|".join(re.escape(w) for w in self.words)
        # \b only works next to word characters, so look-arounds keep "ab" from matching in "cab" for any word.
        self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if self.words else None

    def find(self, text: str) -> str | None:
        """The first banned word in ``text`` (as written there), or None."""
        if self._pattern is None:
            return None
        match = self._pattern.search(text)
        return match.group(0) if match else None

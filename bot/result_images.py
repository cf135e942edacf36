"""Result images (grids, upscales, progress previews) read back from the workers' result store."""

from __future__ import annotations

from bot.blocking import BlockingExecutor
from worker.store import ResultStore, split_ref


class ResultImages:
    """Reads result-store references ("<job id>/<file>") for the delivery loop and the progress edits."""

    def __init__(self, store: ResultStore, blocking: BlockingExecutor):
        self.store = store
        self.blocking = blocking

    async def fetch(self, reference: str) -> bytes | None:
        """An image from the result store, or None once expired."""
        job_id, name = split_ref(reference)
        return await self.blocking.run(self.store.get, job_id, name)

"""The bot's thread pool for blocking calls: the synchronous RQ/Redis queue client and the result store.

The event loop must never wait on a socket it does not own; each such call runs here instead.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class BlockingExecutor:
    """Runs blocking calls off the event loop."""

    def __init__(self, threads: int = 8):
        # A queue call is a handful of Redis round trips; a small pool keeps 100 simultaneous commands in 3 s.
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="blocking")

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``func(*args, **kwargs)`` in the pool, awaited."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(func, *args, **kwargs))

    def close(self) -> None:
        """Stop the pool; calls not yet started are cancelled."""
        self._pool.shutdown(wait=False, cancel_futures=True)

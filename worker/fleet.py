"""The fleet as the bot sees it: the models online, how many workers serve each, and how many jobs wait.

Light (the bot imports it): a few Redis reads, no engine. Workers publish themselves (worker/presence.py) in the
keys described in worker/keys.py: ``FLEET``, a sorted set of worker ids scored by when each lapses, and one card
per worker. Workers of one model are expected to share its configuration; if their cards differ, the card of the
first worker by id is the one shown.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import ValidationError
from rq.queue import Queue

from worker import keys
from worker.cards import ModelCard
from worker.spec import Mode

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveModel:
    """A model with at least one live worker: its card, its worker count and the jobs waiting in each mode."""

    card: ModelCard
    workers: int
    waiting: dict[Mode, int]

    @property
    def name(self) -> str:
        return self.card.name


class Fleet:
    """Reads the live fleet from Redis (synchronous: call it from asyncio through a thread)."""

    def __init__(self, connection: redis.Redis):
        self.connection = connection

    def models(self) -> list[LiveModel]:
        """Every model with a live worker, by name. A card this code cannot read (a newer worker's) is skipped."""
        live = self.connection.zrangebyscore(keys.FLEET, time.time(), "+inf")
        worker_ids = sorted(w.decode() if isinstance(w, bytes) else str(w) for w in live)
        if not worker_ids:
            return []
        raw_cards = self.connection.mget([keys.worker_card(w) for w in worker_ids])
        cards: dict[str, ModelCard] = {}
        workers: dict[str, int] = {}
        for worker_id, raw in zip(worker_ids, raw_cards, strict=True):
            if raw is None:  # lapsed between the two reads
                continue
            try:
                card = ModelCard.model_validate_json(raw)
            except ValidationError:
                log.warning("fleet: worker %s publishes a card this version cannot read; ignored", worker_id)
                continue
            cards.setdefault(card.name, card)
            workers[card.name] = workers.get(card.name, 0) + 1
        names = sorted(cards)
        with self.connection.pipeline(transaction=False) as pipe:
            for name in names:
                for mode in Mode:
                    pipe.llen(Queue.redis_queue_namespace_prefix + keys.queue_name(name, mode))
            depths = iter(pipe.execute())
        return [LiveModel(cards[n], workers[n], {mode: int(next(depths)) for mode in Mode}) for n in names]

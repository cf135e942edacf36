"""The fleet against a real Redis: workers publish their cards, the bot's reader sees models, counts and depths."""

from __future__ import annotations

import time

import redis

from tests.worker import fakes
from tests.worker.conftest import start_worker, stop_worker
from tests.worker.helpers import drain, make_spec, wait_for
from worker import keys
from worker.cards import ModelCard
from worker.fleet import Fleet
from worker.presence import Presence
from worker.queue import JobQueue
from worker.settings import QueueSettings
from worker.spec import SD_GUIDANCE, Mode


def _card(name: str, **changes: object) -> ModelCard:
    fields: dict[str, object] = {
        "name": name,
        "family": "sd1",
        "base_resolution": 512,
        "size_step": 64,
        "max_side": 2048,
        "default_steps": 20,
        "guidance": SD_GUIDANCE,
    }
    return ModelCard.model_validate(fields | changes)


def test_published_cards_are_read_with_worker_counts_and_depths(
    connection: redis.Redis, settings: QueueSettings
) -> None:
    """Two workers of one model and one of another: two live models, counted, with their own queue depths."""
    sd1, xl = _card("sd1", aliases=("5",)), _card("sdxl", base_resolution=1024, max_side=4096)
    for worker_id, card in (("w1", sd1), ("w2", sd1), ("w3", xl)):
        Presence(connection, card, worker_id, ttl_s=30).publish()
    queue = JobQueue(connection, settings)
    queue.enqueue(make_spec(user_id=1, model="sdxl"))
    queue.enqueue(make_spec(user_id=2, model="sdxl", mode=Mode.RELAX))
    queue.enqueue(make_spec(user_id=3, model="sdxl", mode=Mode.RELAX))
    models = Fleet(connection).models()
    assert [(m.card, m.workers, m.waiting) for m in models] == [
        (sd1, 2, {Mode.FAST: 0, Mode.RELAX: 0}),
        (xl, 1, {Mode.FAST: 1, Mode.RELAX: 2}),
    ]


def test_a_silent_worker_lapses_and_a_clean_exit_leaves_at_once(connection: redis.Redis) -> None:
    """A worker whose beats stop is gone after its TTL (card key and fleet entry); one that withdraws is gone now."""
    dying = Presence(connection, _card("sd1"), "dying", ttl_s=0.3)
    leaving = Presence(connection, _card("sdxl"), "leaving", ttl_s=30)
    dying.publish()
    leaving.publish()
    assert [m.name for m in Fleet(connection).models()] == ["sd1", "sdxl"]
    leaving.withdraw()
    assert [m.name for m in Fleet(connection).models()] == ["sd1"]
    assert not connection.exists(keys.worker_card("leaving"))
    time.sleep(0.4)
    assert Fleet(connection).models() == []
    assert not connection.exists(keys.worker_card("dying"))
    Presence(connection, _card("sd1"), "late", ttl_s=30).publish()  # the next beat trims lapsed entries
    assert connection.zrange(keys.FLEET, 0, -1) == [b"late"]


def test_the_heartbeat_keeps_a_short_lived_card_alive(connection: redis.Redis) -> None:
    """While the presence runs, its card outlives many TTLs; after stop it is gone."""
    with Presence(connection, _card("sd1"), "beating", ttl_s=0.3):
        time.sleep(1.0)
        assert [m.workers for m in Fleet(connection).models()] == [1]
    assert Fleet(connection).models() == []


def test_a_card_this_version_cannot_read_is_skipped(connection: redis.Redis) -> None:
    """A newer worker's card (an unknown field) is ignored instead of breaking the reader."""
    Presence(connection, _card("sd1"), "old", ttl_s=30).publish()
    Presence(connection, _card("flux"), "new", ttl_s=30).publish()
    newer = _card("flux").model_dump_json().replace('"family"', '"latent_channels":16,"family"')
    connection.set(keys.worker_card("new"), newer)
    assert [m.name for m in Fleet(connection).models()] == ["sd1"]


def test_a_burst_worker_is_in_the_fleet_only_while_it_runs(connection: redis.Redis, settings: QueueSettings) -> None:
    """serve() publishes the engine's card while it works its queues and withdraws it when it returns."""
    seen: list[list[str]] = []

    class Watching(fakes.FakeEngine):
        def run(self, spec, source=None, progress=None, should_cancel=None):  # type: ignore[no-untyped-def]  # a deliberately bare stand-in engine
            seen.append([m.name for m in Fleet(connection).models()])
            return super().run(spec, source, progress, should_cancel)

    JobQueue(connection, settings).enqueue(make_spec())
    assert drain(settings, engine=Watching()) == 1
    assert seen == [["fake"]]
    assert Fleet(connection).models() == [] and connection.zcard(keys.FLEET) == 0


def test_worker_process_publishes_its_card_and_withdraws_on_sigterm(
    connection: redis.Redis, settings: QueueSettings
) -> None:
    """`imagine worker` is in the fleet once its engine loads, with its card, and leaves it when stopped."""
    proc = start_worker(settings)
    try:
        [live] = wait_for(lambda: Fleet(connection).models(), timeout=30)
        assert (live.card, live.workers) == (fakes.FakeEngine().card(), 1)
    finally:
        output = stop_worker(proc)
    assert Fleet(connection).models() == [], output

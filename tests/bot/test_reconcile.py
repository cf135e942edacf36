"""The reconciler against a real Redis: jobs the queue lost are told once, after two sweeps; others are left be."""

from __future__ import annotations

import asyncio
import time

from bot import keys
from bot.jobs import JobRecord
from bot.prompt import ParserOptions, parse_prompt
from bot.reconcile import Reconciler
from bot.services import BotServices
from worker.spec import Mode, Requester, imagine_spec

ALICE = Requester(user_id=1, channel_id=10, guild_id=20)


def _reconciler(services: BotServices, told: list[str]) -> Reconciler:
    async def tell_lost(record: JobRecord) -> None:
        told.append(record.job_id)
        await services.redis.set(keys.delivered(record.job_id), "lost")
        await services.pending.done(record.job_id)

    return Reconciler(
        pending=services.pending,
        records=services.records,
        connection=services.redis,
        queue=services.queue,
        blocking=services.blocking,
        tell_lost=tell_lost,
        interval_s=1,
    )


def test_a_job_redis_forgot_is_told_once_after_two_sweeps(services: BotServices) -> None:
    """Two admitted jobs; Redis loses everything (FLUSHDB): the first sweep only notes them, the second tells each
    user once from the records in memory; a third finds nothing owed."""
    told: list[str] = []

    async def scenario() -> list[list[str]]:
        specs = [
            imagine_spec(parse_prompt(f"fox {n}", ParserOptions())[0], ALICE, Mode.FAST, 20, model="sd1")
            for n in range(2)
        ]
        for spec in specs:
            await services.submitter.enqueue(spec, JobRecord.for_spec(spec))
        reconciler = _reconciler(services, told)
        kept = await reconciler.sweep()
        await services.redis.flushdb()
        return [kept, await reconciler.sweep(), await reconciler.sweep(), await reconciler.sweep()]

    sweeps = asyncio.run(scenario())
    assert len(told) == 2 and sweeps == [[], [], told, []]


def test_known_and_delivered_jobs_are_left_alone(services: BotServices) -> None:
    """A job Redis still knows is never told; one whose end was shown leaves the index."""
    told: list[str] = []

    async def scenario() -> None:
        queued, shown = (
            imagine_spec(parse_prompt(p, ParserOptions())[0], ALICE, Mode.FAST, 20, model="sd1") for p in "ab"
        )
        await services.submitter.enqueue(queued, JobRecord.for_spec(queued))
        await services.submitter.enqueue(shown, JobRecord.for_spec(shown))
        await services.redis.set(keys.delivered(shown.id), 123)
        reconciler = _reconciler(services, told)
        for _ in range(3):
            await reconciler.sweep()
        assert await services.pending.job_ids() == [queued.id]

    asyncio.run(scenario())
    assert told == []


def test_a_restarted_bot_finds_pending_jobs_in_redis(services: BotServices) -> None:
    """Jobs admitted by an earlier process (in the Redis index, not in memory) whose queue state is gone are told."""
    told: list[str] = []

    async def scenario() -> None:
        spec = imagine_spec(parse_prompt("an owl", ParserOptions())[0], ALICE, Mode.FAST, 20, model="sd1")
        await services.records.save(JobRecord.for_spec(spec))
        await services.redis.zadd(keys.PENDING, {spec.id: time.time()})  # written by the earlier process
        reconciler = _reconciler(services, told)
        await reconciler.sweep()
        await reconciler.sweep()

    asyncio.run(scenario())
    assert len(told) == 1


def test_a_job_whose_worker_still_reports_is_not_lost(services: BotServices) -> None:
    """Unknown to Redis but sending events (a worker still running it after the restart): not told."""
    told: list[str] = []

    async def scenario() -> None:
        spec = imagine_spec(parse_prompt("a running fox", ParserOptions())[0], ALICE, Mode.FAST, 20, model="sd1")
        await services.submitter.enqueue(spec, JobRecord.for_spec(spec))
        await services.redis.flushdb()
        reconciler = _reconciler(services, told)
        for _ in range(3):
            await reconciler.sweep()
            services.pending.saw(spec.id)  # a progress event between sweeps
        assert await services.pending.job_ids() == [spec.id]

    asyncio.run(scenario())
    assert told == []

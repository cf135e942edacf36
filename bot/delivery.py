"""The delivery loop: job events from the worker's stream → Discord messages, exactly once per result.

Events are read through a consumer group (``worker.events.EventConsumer``) under a stable consumer name, so a
bot restarted mid-job first gets back what it had read but not handled, and nothing emitted while it was down is
lost. An event is acknowledged only once handled; a failed post stays pending and is retried (reclaimed) later.
Posting is idempotent per job: ``keys.delivered`` is checked before posting and set (NX) after a successful post.
A crash between Discord taking a post and that mark is covered twice: the post carries a nonce derived from the job
(Discord answers a repeat within minutes with the first message), and a later try first looks for the result in
the channel (``keys.posting`` says one was tried).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time

import discord
import redis.asyncio
import redis.exceptions

from bot import keys, messages, metrics, views
from bot.blocking import BlockingExecutor
from bot.job_log import ended_line
from bot.jobs import JobRecord, JobRecords
from bot.outbox import DeliveryImpossible, Outbox
from bot.pending import PendingJobs
from bot.progress import ProgressEditor, Update
from bot.result_images import ResultImages
from worker.engine import ErrorCode
from worker.events import Event, EventConsumer, EventType
from worker.queue import JobQueue
from worker.spec import JobKind
from worker.store import split_ref

log = logging.getLogger(__name__)

RECLAIM_EVERY_S = 10.0
# A transient failure (Discord 5xx, Redis hiccup) is retried this many times before the event is dropped.
MAX_ATTEMPTS = 5


class Delivery:
    """Consumes job events and shows them in Discord."""

    def __init__(
        self,
        consumer: EventConsumer,
        *,
        connection: redis.asyncio.Redis,
        records: JobRecords,
        pending: PendingJobs,
        queue: JobQueue,
        blocking: BlockingExecutor,
        outbox: Outbox,
        progress: ProgressEditor,
        images: ResultImages,
    ):
        self.consumer = consumer
        self.connection = connection  # the bot's own keys: the delivered marks
        self.records = records
        self.pending = pending
        self.queue = queue
        self.blocking = blocking
        self.outbox = outbox
        self.progress = progress
        self.images = images
        self._stopping = asyncio.Event()
        self._attempts: dict[str, int] = {}

    async def run(self) -> None:
        """Consume until ``stop()``; Redis outages are waited out, handler errors never end the loop."""
        await self._ensure_group()
        last_reclaim = 0.0
        while not self._stopping.is_set():
            try:
                events: list[Event] = []
                if time.monotonic() - last_reclaim > RECLAIM_EVERY_S:
                    events += await self.consumer.reclaim()
                    last_reclaim = time.monotonic()
                events += await self.consumer.read(block_ms=1000)
                for event in events:
                    if await self.handle(event):
                        await self.consumer.ack(event)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                log.warning("delivery: Redis unavailable (%s); retrying", exc)
                await asyncio.sleep(1.0)
            except redis.exceptions.ResponseError as exc:
                # NOGROUP: Redis lost the stream or the group (restarted without persistence); make it again.
                log.warning("delivery: %s; re-creating the consumer group", exc)
                await asyncio.sleep(1.0)
                await self._ensure_group()
            except Exception:
                log.exception("delivery: unexpected error; carrying on")
                await asyncio.sleep(1.0)

    def stop(self) -> None:
        """Ask the loop to end after the current batch."""
        self._stopping.set()

    async def _ensure_group(self) -> None:
        while True:
            try:
                await self.consumer.ensure_group()
                return
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                log.warning("delivery: Redis unavailable (%s); retrying", exc)
                await asyncio.sleep(1.0)

    async def handle(self, event: Event) -> bool:
        """Show one event; True when it is done with (acknowledge it), False to retry it later."""
        try:
            if await self.connection.exists(keys.delivered(event.job_id)):
                if event.terminal:
                    await self.pending.done(event.job_id)
                metrics.DELIVERIES.labels(event.type, "skipped").inc()
                return True  # already shown: a repeat after a restart, or progress after the end
            record = await self._record(event)
            if record is None:
                metrics.DELIVERIES.labels(event.type, "skipped").inc()
                return True
            if not event.terminal and not self.pending.knows(record.job_id):
                await self.pending.add(record)  # admitted by an earlier process: remembered here from now on
            self.pending.saw(record.job_id)
            if event.terminal and record.message_id is None:
                # A bot that died between answering and recording the message id: find the message by its job.
                record.message_id = await self.outbox.find_job_message(record)
            if event.type in (EventType.STARTED, EventType.PROGRESS):
                percent = int(event.data.get("percent", 0))
                await self.progress.update(Update(record, percent, event.data.get("preview")))
            elif event.type is EventType.DONE:
                await self._done(event, record)
            elif event.type is EventType.FAILED:
                await self._failed(event, record)
            elif event.type is EventType.CANCELLED:
                await self._cancelled(record)
            if event.terminal:
                await self._ended(event, record)
            self._attempts.pop(event.stream_id or event.job_id, None)
            metrics.DELIVERIES.labels(event.type, "shown").inc()
            return True
        except DeliveryImpossible as exc:
            log.warning("%s", exc)
            metrics.DELIVERIES.labels(event.type, "dropped").inc()
            return True
        except discord.HTTPException as exc:
            if 400 <= exc.status < 500 and exc.status != 429:
                # Discord refused this message itself (not a passing outage): retrying would fail the same way.
                log.error("job %s: %s event refused by Discord (%s); giving up", event.job_id, event.type, exc)
                metrics.DELIVERIES.labels(event.type, "dropped").inc()
                return True
            return self._retry_later(event, repr(exc))
        except Exception as exc:
            log.exception("job %s: %s event could not be handled", event.job_id, event.type)
            return self._retry_later(event, repr(exc))

    def _retry_later(self, event: Event, why: str) -> bool:
        """Leave the event pending (it is reclaimed and retried), up to MAX_ATTEMPTS; then drop it."""
        key = event.stream_id or event.job_id
        self._attempts[key] = attempts = self._attempts.get(key, 0) + 1
        if attempts >= MAX_ATTEMPTS:
            log.error("job %s: %s event failed %d times (%s); giving up", event.job_id, event.type, attempts, why)
            self._attempts.pop(key, None)
            metrics.DELIVERIES.labels(event.type, "dropped").inc()
            return True
        log.warning("job %s: %s event not delivered (%s); will retry", event.job_id, event.type, why)
        metrics.DELIVERIES.labels(event.type, "retry").inc()
        return False

    async def _record(self, event: Event) -> JobRecord | None:
        # This process's memory holds the records of jobs it admitted even when Redis lost them (a restart without
        # persistence under a running job, whose worker reports its end to the new Redis).
        record = await self.records.load(event.job_id) or self.pending.remembered(event.job_id)
        if record is not None or not event.terminal:
            return record
        # Records outlive most jobs; if it is gone, the spec still says who asked and where.
        spec = await self.blocking.run(self.queue.load_spec, event.job_id)
        if spec is None:
            log.warning("job %s: %s event for a job this bot no longer knows", event.job_id, event.type)
            return None
        return JobRecord.for_spec(spec)

    async def _mark(self, job_id: str, value: str | int) -> None:
        await self.connection.set(keys.delivered(job_id), value, nx=True, ex=keys.RECORD_TTL_S)
        await self.pending.done(job_id)

    async def _done(self, event: Event, record: JobRecord) -> None:
        self.progress.finish(record.job_id)
        refs = list(event.data.get("files") or [])
        name = _main_file(refs, record.kind)
        data = await self.images.fetch(name) if name else None
        if name is None or data is None:
            log.error("job %s: result image missing from the store (%s)", record.job_id, refs)
            await self._show_error(record, messages.internal_error(record.job_id, "The result image was lost."))
            return
        if (found := await self._posted_before(record)) is not None:
            log.info("job %s: result already in channel %s (message %s)", record.job_id, record.channel_id, found)
            await self._mark(record.job_id, found)
            if record.message_id is not None:
                await self.outbox.delete(record, record.message_id)
            return
        view = views.upscale_view(record.job_id) if record.kind is JobKind.UPSCALE else views.grid_view(record.job_id)
        filename = f"{record.job_id[:8]}_{split_ref(name)[1]}"
        reference = None
        if record.reply_to is not None:
            reference = discord.MessageReference(
                message_id=record.reply_to, channel_id=record.channel_id, fail_if_not_exists=False
            )
        message = await self.outbox.send(
            record,
            content=messages.result(record.kind, record.prompt, record.user_id, record.mode, record.index),
            file=discord.File(io.BytesIO(data), filename=filename),
            view=view,
            allowed_mentions=messages.mentions(record.user_id),
            reference=reference,
            nonce=post_nonce(record.job_id),
        )
        await self._mark(record.job_id, message.id if message else 0)
        log.info("job %s: result posted in channel %s", record.job_id, record.channel_id)
        if record.message_id is not None:
            await self.outbox.delete(record, record.message_id)

    async def _posted_before(self, record: JobRecord) -> int | None:
        """The result message an earlier try posted, if this is not the first try and it can be found.

        Only a try whose post Discord took but whose delivery was never recorded (a crash in between) leaves one.
        Within a few minutes the post's nonce already makes Discord answer a repeat with that message; the search
        covers a restart after that.
        """
        now = time.time()
        if await self.connection.set(keys.posting(record.job_id), now, nx=True, ex=keys.RECORD_TTL_S):
            return None  # the first try
        first_try = float(await self.connection.get(keys.posting(record.job_id)) or now)
        return await self.outbox.find_result_message(record, since=first_try)

    async def _failed(self, event: Event, record: JobRecord) -> None:
        reason = str(event.data.get("reason") or "Something went wrong while making your images.")
        # The code says what happened; the reason is only shown (its wording may change, or mention anything).
        if event.data.get("code") == ErrorCode.EXPIRED:
            embed = messages.error_embed("Job expired", reason, job_id=record.job_id)
        else:
            embed = messages.internal_error(record.job_id, reason)
        await self._show_error(record, embed)

    async def tell_lost(self, record: JobRecord) -> None:
        """The queue lost the job (found by the reconciler): its message says so, and it counts as delivered."""
        await self._show_error(record, messages.job_lost(record.job_id), mark="lost")

    async def _show_error(self, record: JobRecord, embed: discord.Embed, mark: str = "failed") -> None:
        self.progress.finish(record.job_id)
        head = messages.headline(record.kind, record.prompt, record.user_id, record.index)
        if record.message_id is not None:
            await self.outbox.edit(
                record,
                record.message_id,
                content=f"{head} (Failed)",
                embed=embed,
                attachments=[],
                view=None,
                allowed_mentions=messages.mentions(),
            )
        else:
            await self.outbox.send(
                record, content=head, embed=embed, allowed_mentions=messages.mentions(), nonce=post_nonce(record.job_id)
            )
        await self._mark(record.job_id, mark)

    async def _cancelled(self, record: JobRecord) -> None:
        self.progress.finish(record.job_id)
        if record.message_id is not None:
            head = messages.headline(record.kind, record.prompt, record.user_id, record.index)
            await self.outbox.edit(
                record,
                record.message_id,
                content=messages.cancelled(head),
                embeds=[],
                attachments=[],
                view=None,
                allowed_mentions=messages.mentions(),
            )
        await self._mark(record.job_id, "cancelled")

    async def _ended(self, event: Event, record: JobRecord) -> None:
        """Once a job's end is shown: edit the answer to its owner's ❌ if one waits, and log the job's line."""
        reply = await self.records.take_cancel_reply(record.job_id)
        if reply is not None:
            await self.outbox.edit_reply(reply, messages.cancel_answer(event.type))
        line = ended_line(record, event, await self.outbox.user_name(record.user_id))
        log.info("%s", line, extra={"headline": True})  # one of the lines a quiet `imagine run` shows


def post_nonce(job_id: str) -> str:
    """The nonce of the one message a job's end may post (its result, or its failure where it has no message).

    Discord takes nonces of at most 25 characters; 25 of a job id's 32 random hex digits are as unique.
    """
    return job_id[:25]


def _main_file(refs: list[str], kind: JobKind) -> str | None:
    """The reference to post: the grid of a four-image job, the single image of an upscale."""
    for reference in refs:
        if reference.rsplit("/", 1)[-1].startswith("grid."):
            return reference
    with contextlib.suppress(IndexError):
        return refs[0]
    return None

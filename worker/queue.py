"""Enqueue, position and cancel: the bot's side of the queue (light: no torch, no engine, no worker code).

A job is enqueued by dotted name (keys.TASK) with its spec JSON as the only argument, through RQ's JSON
serializer, on the queue of its model and mode (``keys.queue_name``). Admission limits are taken first
(worker.limits); RQ's RateLimit then releases at most ``concurrent_limit`` of a user's jobs to the workers at
once, the rest wait in order.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from enum import StrEnum

import redis.exceptions
from rq import Queue, Retry
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.rate_limit import RateLimit, RateLimitRegistry
from rq.serializers import JSONSerializer

from worker import keys
from worker.engine import ErrorCode
from worker.events import EventLog, EventType, failure, make_event
from worker.limits import Admission, LimitError, Limits
from worker.settings import QueueSettings
from worker.spec import JobSpec, JobSpecError, Mode

log = logging.getLogger(__name__)


class EnqueueError(Exception):
    """A job that was not accepted; ``message`` is safe to show the user, ``reason`` is a short code."""

    def __init__(self, message: str, reason: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.reason = reason


class JobState(StrEnum):
    """Where a job is in its life, as the bot shows it."""

    WAITING = "waiting"  # admitted, held back by the user's concurrent limit
    QUEUED = "queued"  # released to the workers, not started
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # never seen, or forgotten (spec_ttl passed)


_TERMINAL = {"done": JobState.DONE, "failed": JobState.FAILED, "cancelled": JobState.CANCELLED}


@dataclass(frozen=True)
class Position:
    """Where a job stands; ``ahead`` counts jobs that start before it (None when not waiting)."""

    state: JobState
    ahead: int | None = None


def rq_queue(connection: redis.Redis, model: str, mode: Mode) -> Queue:
    """The RQ queue of a model's jobs in a mode, JSON-serialized."""
    return Queue(keys.queue_name(model, mode), connection=connection, serializer=JSONSerializer)


def load_spec(connection: redis.Redis, job_id: str) -> JobSpec | None:
    """A kept job spec, or None once spec_ttl has passed (or if it no longer parses)."""
    raw = connection.get(keys.spec(job_id))
    if raw is None:
        return None
    try:
        return JobSpec.from_json(raw)
    except JobSpecError:
        log.warning("job %s: stored spec no longer parses", job_id)
        return None


class JobQueue:
    """Enqueue jobs, tell their position, cancel them."""

    def __init__(self, connection: redis.Redis, settings: QueueSettings):
        self.connection = connection
        self.settings = settings
        self._queues: dict[tuple[str, Mode], Queue] = {}
        limits = Limits(settings.concurrent_limit, settings.queued_limit, settings.queue_cap, settings.slot_ttl_s)
        self.admission = Admission(connection, limits)
        self.events = EventLog(connection, settings.events_maxlen, settings.spec_ttl_s)

    @classmethod
    def from_settings(cls, settings: QueueSettings) -> JobQueue:
        """A queue on a new connection to the configured Redis."""
        return cls(settings.redis(), settings)

    def rq_queue(self, model: str, mode: Mode) -> Queue:
        """The RQ queue of ``model``'s jobs in ``mode`` (made once per queue)."""
        queue = self._queues.get((model, mode))
        if queue is None:
            queue = self._queues[(model, mode)] = rq_queue(self.connection, model, mode)
        return queue

    def enqueue(self, spec: JobSpec) -> Position:
        """Accept a job: check its parent, take a slot, keep its spec, queue it, emit ``queued``.

        Raises EnqueueError (reason "parent_expired", "user_limit", "queue_full" or "unavailable") when the
        job is refused, and redis.RedisError when Redis cannot be reached at all. Synchronous (a few ms): from
        asyncio, call it through ``asyncio.to_thread``.
        """
        if spec.parent is not None and not self.connection.exists(keys.spec(spec.parent.job_id)):
            raise EnqueueError("The original job has expired; run /imagine again.", "parent_expired")
        user_id = spec.requester.user_id
        try:
            self.admission.admit(user_id, spec.id)
        except LimitError as exc:
            raise EnqueueError(exc.message, str(exc.reason)) from None
        self.connection.set(keys.spec(spec.id), spec.to_json(), ex=self.settings.spec_ttl_s)
        # "queued" goes out before RQ has the job, so it always precedes the worker's "started".
        expected = self._expected_position(spec)
        data = {"mode": str(spec.mode), "kind": str(spec.kind), "state": str(expected.state), "ahead": expected.ahead}
        self.events.emit(make_event(EventType.QUEUED, spec.id, spec.requester, data))
        try:
            retry = Retry(max=self.settings.max_retries, enqueue_at_front=True) if self.settings.max_retries else None
            self.rq_queue(spec.model, spec.mode).enqueue_call(
                keys.TASK,
                args=(spec.to_json(),),
                job_id=spec.id,
                description=f"{spec.kind} for user {user_id}",
                timeout=self.settings.job_timeout_s,
                result_ttl=self.settings.image_ttl_s,
                failure_ttl=self.settings.spec_ttl_s,
                retry=retry,
                rate_limit=RateLimit(keys.user_rate_limit(user_id), self.settings.concurrent_limit),
            )
        except Exception:
            log.exception("job %s: could not be queued", spec.id)
            self.admission.release(user_id, spec.id)
            reason = "The job could not be queued. Please try again."
            data = failure(ErrorCode.INTERNAL, reason)
            with contextlib.suppress(redis.exceptions.RedisError):
                self.events.finish(make_event(EventType.FAILED, spec.id, spec.requester, data))
            raise EnqueueError(reason, "unavailable") from None
        position = self.position(spec.id)
        log.info("job %s: queued (%s, %s ahead)", spec.id, position.state, position.ahead)
        return position

    def _expected_position(self, spec: JobSpec) -> Position:
        """Where the job will stand once RQ has it (RQ's own answer exists only after the enqueue)."""
        registry = RateLimitRegistry(keys.user_rate_limit(spec.requester.user_id), self.connection)
        if registry.get_allowed_job_count() >= self.settings.concurrent_limit:
            return Position(JobState.WAITING, registry.get_rate_limited_job_count())
        ahead = self.rq_queue(spec.model, spec.mode).count
        if spec.mode is Mode.RELAX:
            ahead += self.rq_queue(spec.model, Mode.FAST).count
        return Position(JobState.QUEUED, ahead)

    def load_spec(self, job_id: str) -> JobSpec | None:
        """The job's spec while it is kept (spec_ttl), else None."""
        return load_spec(self.connection, job_id)

    def known(self, job_id: str) -> bool:
        """Whether Redis still has any trace of an accepted job: its spec, its RQ job or its outcome.

        False once spec_ttl has passed, or when Redis lost the job (restarted without persistence); a worker still
        running a lost job writes its outcome when it ends, and the job is known again.
        """
        found = self.connection.exists(keys.spec(job_id), Job.key_for(job_id), keys.final(job_id))
        return bool(found)

    def position(self, job_id: str) -> Position:
        """Where the job stands now; a model's fast jobs are always served before its relax ones."""
        outcome = self.events.outcome(job_id)
        if outcome is not None:
            return Position(_TERMINAL.get(str(outcome.get("status")), JobState.UNKNOWN))
        try:
            job = Job.fetch(job_id, connection=self.connection, serializer=JSONSerializer)
        except NoSuchJobError:
            return Position(JobState.UNKNOWN)
        status = job.get_status()
        if status == JobStatus.QUEUED:
            ahead = self.connection.lpos(Queue.redis_queue_namespace_prefix + job.origin, job_id)
            if not isinstance(ahead, int):  # None: between the queue list and a worker, about to start
                return Position(JobState.QUEUED, 0)
            origin = keys.parse_queue_name(job.origin)
            if origin is not None and origin[1] is Mode.RELAX:
                ahead += self.rq_queue(origin[0], Mode.FAST).count
            return Position(JobState.QUEUED, ahead)
        if status == JobStatus.RATE_LIMITED and job.rate_limit_key:
            registry = RateLimitRegistry(job.rate_limit_key, self.connection)
            rank = self.connection.zrank(registry.rate_limited_key, job_id)
            return Position(JobState.WAITING, rank if isinstance(rank, int) else None)
        if status == JobStatus.STARTED:
            return Position(JobState.RUNNING)
        if status == JobStatus.CANCELED:
            return Position(JobState.CANCELLED)
        if status in (JobStatus.FAILED, JobStatus.STOPPED):
            return Position(JobState.FAILED)
        return Position(JobState.UNKNOWN)

    def cancel(self, job_id: str, user_id: int | None = None) -> JobState:
        """Cancel a waiting, queued or running job.

        Returns CANCELLED if it was stopped before running (its ``cancelled`` event is already sent), RUNNING
        if a worker has it (it stops at the next denoising step and sends ``cancelled``), or the job's final
        state when it had already ended. With ``user_id``, raises EnqueueError for another user's job.
        """
        spec = self.load_spec(job_id)
        if spec is None:
            return self.position(job_id).state
        if user_id is not None and spec.requester.user_id != user_id:
            raise EnqueueError("Only the person who started a job can cancel it.", "not_owner")
        outcome = self.events.outcome(job_id)
        if outcome is not None:
            return _TERMINAL.get(str(outcome.get("status")), JobState.UNKNOWN)
        # The flag first: a worker that takes the job from now on sees it before running anything.
        self.connection.set(keys.cancel(job_id), "1", ex=self.settings.spec_ttl_s)
        try:
            job = Job.fetch(job_id, connection=self.connection, serializer=JSONSerializer)
            status = job.get_status()
        except NoSuchJobError:
            status = None
        if status in (JobStatus.QUEUED, JobStatus.RATE_LIMITED, JobStatus.SCHEDULED, JobStatus.DEFERRED, None):
            if status is not None:
                with contextlib.suppress(InvalidJobOperation):
                    job.cancel()
            self.events.finish(make_event(EventType.CANCELLED, job_id, spec.requester, {"reason": "cancelled"}))
            self.admission.release(spec.requester.user_id, job_id)
            log.info("job %s: cancelled before it ran", job_id)
            return JobState.CANCELLED
        if status == JobStatus.STARTED:
            log.info("job %s: cancel requested while running", job_id)
            return JobState.RUNNING
        return self.position(job_id).state

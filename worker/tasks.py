"""The job function, ``worker.tasks.run_job``: one spec in, events and stored images out.

It runs inside ``imagine worker`` (worker.process), which loads the engine once and installs a Runtime here
before taking jobs. Every expected outcome ends in exactly one terminal event (done, failed, cancelled)
written once per job id, so a job run twice after a worker died neither repeats nor loses its result. A failure
reaches the user as a short ``reason`` beside a machine-readable ``code`` (worker.engine.ErrorCode); tracebacks
stay in the worker log. The engine is held to the contract in worker/engine.py: its Cancelled and EngineError are
caught by type, nothing is recognised by its name or message.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.exceptions
from rq import get_current_job
from rq.timeouts import JobTimeoutException

from worker import keys, metrics
from worker.engine import Cancelled, EngineError, EngineProtocol, ErrorCode, Progress
from worker.events import EventLog, EventType, failure, make_event
from worker.limits import Admission, Limits
from worker.sources import SOURCE_KINDS, load_source
from worker.spec import JobSpec, JobSpecError, Requester
from worker.store import ResultStore, open_store

if TYPE_CHECKING:
    from rq.job import Job

    from worker.cards import ModelCard
    from worker.settings import QueueSettings

log = logging.getLogger(__name__)

INTERNAL_ERROR = "Something went wrong while making your images. Please try again."


@dataclass
class Runtime:
    """What jobs in this process share: the loaded engine, its card, and the Redis-side helpers."""

    engine: EngineProtocol
    card: ModelCard
    settings: QueueSettings
    connection: redis.Redis
    store: ResultStore
    events: EventLog
    admission: Admission

    @classmethod
    def create(cls, engine: EngineProtocol, settings: QueueSettings, connection: redis.Redis) -> Runtime:
        """Wire the helpers around the loaded engine."""
        limits = Limits(settings.concurrent_limit, settings.queued_limit, settings.queue_cap, settings.slot_ttl_s)
        return cls(
            engine=engine,
            card=engine.card(),
            settings=settings,
            connection=connection,
            store=open_store(settings, connection),
            events=EventLog(connection, settings.events_maxlen, settings.spec_ttl_s),
            admission=Admission(connection, limits),
        )


_runtime: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    """Make ``runtime`` the one jobs in this process use (called by the worker before taking jobs)."""
    global _runtime
    _runtime = runtime


def current_runtime() -> Runtime:
    """The installed runtime; raises RuntimeError outside a worker."""
    if _runtime is None:
        raise RuntimeError("worker.tasks.run_job runs inside `imagine worker`, which loads the engine first")
    return _runtime


class ProgressReporter:
    """The engine's progress callback: ``progress`` events, throttled; previews go to the store."""

    def __init__(self, rt: Runtime, spec: JobSpec):
        self.rt = rt
        self.spec = spec
        self.last_sent = 0.0
        self.last_percent = -1

    def __call__(self, progress: Progress) -> None:
        percent = int(100 * progress.step / max(1, progress.total))
        preview = progress.preview
        due = time.monotonic() - self.last_sent >= self.rt.settings.progress_interval_s
        if preview is None and (not due or percent == self.last_percent):
            return
        data: dict[str, Any] = {"percent": percent, "step": progress.step, "total": progress.total}
        try:  # progress is best effort: a Redis blip must not fail the job
            if preview is not None:
                buf = io.BytesIO()
                preview.save(buf, format="PNG")
                data["preview"] = self.rt.store.put(self.spec.id, "preview.png", buf.getvalue())
            self.rt.events.emit(make_event(EventType.PROGRESS, self.spec.id, self.spec.requester, data))
        except (redis.exceptions.RedisError, OSError) as exc:
            log.warning("job %s: progress not sent: %s", self.spec.id, exc)
        self.last_sent, self.last_percent = time.monotonic(), percent


class CancelCheck:
    """The engine's should_cancel: polls the job's cancel key, at most every ``every_s`` seconds."""

    def __init__(self, connection: redis.Redis, job_id: str, every_s: float = 0.2):
        self.connection = connection
        self.key = keys.cancel(job_id)
        self.every_s = every_s
        self.last = 0.0
        self.asked = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self.asked and now - self.last >= self.every_s:
            self.last = now
            try:
                self.asked = bool(self.connection.exists(self.key))
            except redis.exceptions.RedisError as exc:  # keep going; ask again next time
                log.warning("cancel check failed: %s", exc)
        return self.asked


def run_job(spec_json: str) -> dict[str, Any]:
    """Run one job; returns a small JSON summary (RQ keeps it as the job's result)."""
    rt = current_runtime()
    try:
        spec = JobSpec.from_json(spec_json)
    except JobSpecError as exc:
        return _reject(rt, spec_json, exc.message)

    if rt.events.outcome(spec.id) is not None:
        log.info("job %s: already finished by an earlier run, nothing to do", spec.id)
        metrics.JOBS.labels(spec.kind, "duplicate").inc()
        return {"status": "duplicate"}
    if spec.model != rt.card.name:  # a safety net: the bot routes by model, so only a stray job gets here
        log.warning("job %s: for model %s, but this worker runs %s", spec.id, spec.model, rt.card.name)
        return _fail(rt, spec, ErrorCode.UNSUPPORTED, f"This worker runs model {rt.card.name}, not {spec.model}.")
    cancel = CancelCheck(rt.connection, spec.id)
    if cancel():
        return _finish(rt, spec, EventType.CANCELLED, {"reason": "cancelled"})

    job = get_current_job()
    attempt = attempt_number(job, rt.settings.max_retries)
    data = {"attempt": attempt, "worker": job.worker_name if job else None}
    rt.events.emit(make_event(EventType.STARTED, spec.id, spec.requester, data))
    log.info("job %s: started (%s, attempt %d)", spec.id, spec.kind, attempt)
    started = time.monotonic()
    with metrics.JOBS_RUNNING.track_inprogress(), metrics.JOB_SECONDS.labels(spec.kind).time():
        return _generate(rt, spec, cancel, started)


def attempt_number(job: Job | None, max_retries: int) -> int:
    """Which run of its job this is, 1 for the first: RQ sets ``retries_left`` to ``max_retries`` when the job is
    queued, and ``Job.retry()`` takes one off before each rerun."""
    if job is None or job.retries_left is None:
        return 1
    return 1 + max_retries - job.retries_left


def _generate(rt: Runtime, spec: JobSpec, cancel: CancelCheck, started: float) -> dict[str, Any]:
    """Load the source (if any), run the engine, store the files; every expected error ends the job."""
    try:
        source = None
        if spec.kind in SOURCE_KINDS:  # a reroll names its parent but starts from fresh noise
            source = load_source(spec, rt.store, rt.connection, rt.engine, cancel)
        result = rt.engine.run(spec, source=source, progress=ProgressReporter(rt, spec), should_cancel=cancel)
        refs = [rt.store.put(spec.id, name, blob) for name, blob in result.files().items()]
    except Cancelled:
        return _finish(rt, spec, EventType.CANCELLED, {"reason": "cancelled"})
    except EngineError as exc:  # the engine's, or a SourceError (the follow-up's source is gone)
        return _fail(rt, spec, exc.code, exc.message)
    except JobTimeoutException:
        log.warning("job %s: timed out after %d s", spec.id, rt.settings.job_timeout_s)
        reason = f"The job took longer than {rt.settings.job_timeout_s} seconds and was stopped."
        return _fail(rt, spec, ErrorCode.TIMEOUT, reason)
    except redis.exceptions.RedisError as exc:
        # Redis went away mid-job (storing the images, reading a source): not the job's failure. It propagates, so
        # the job runs again (RQ's retry, or registry cleanup once its heartbeat lapses); runs are idempotent.
        log.warning("job %s: Redis failed mid-job (%s); it will run again", spec.id, exc)
        raise
    except Exception:
        log.exception("job %s: failed", spec.id)
        return _fail(rt, spec, ErrorCode.INTERNAL, INTERNAL_ERROR)
    data = {
        "files": refs,
        "seed": result.seed,
        "width": result.width,
        "height": result.height,
        "seconds": round(time.monotonic() - started, 3),
        "model": result.model,
    }
    return _finish(rt, spec, EventType.DONE, data)


def _finish(rt: Runtime, spec: JobSpec, kind: EventType, data: dict[str, Any]) -> dict[str, Any]:
    # Free the slot before telling the user, so a new /imagine sent on seeing the result is admitted.
    rt.admission.release(spec.requester.user_id, spec.id)
    written = rt.events.finish(make_event(kind, spec.id, spec.requester, data))
    metrics.JOBS.labels(spec.kind, kind).inc()
    log.info("job %s: %s%s", spec.id, kind, "" if written else " (already reported)")
    return {"status": str(kind), **data}


def _fail(rt: Runtime, spec: JobSpec, code: ErrorCode, reason: str) -> dict[str, Any]:
    return _finish(rt, spec, EventType.FAILED, failure(code, reason))


def _reject(rt: Runtime, spec_json: str, reason: str) -> dict[str, Any]:
    """A spec that does not validate: fail fast, addressed as well as the raw JSON allows."""
    job = get_current_job()
    raw: dict[str, Any] = {}
    try:
        loaded = json.loads(spec_json)
        raw = loaded if isinstance(loaded, dict) else {}
    except ValueError:
        pass
    job_id = job.id if job else str(raw.get("id") or "unknown")
    requester = None
    with contextlib.suppress(ValueError):
        requester = Requester.model_validate(raw.get("requester"))
    if requester is not None:
        rt.admission.release(requester.user_id, job_id)
    log.warning("job %s: rejected: %s", job_id, reason)
    metrics.JOBS.labels(raw.get("kind") if isinstance(raw.get("kind"), str) else "unknown", EventType.FAILED).inc()
    data = failure(ErrorCode.BAD_INPUT, reason)
    rt.events.finish(make_event(EventType.FAILED, job_id, requester, data))
    return {"status": "failed", **data}

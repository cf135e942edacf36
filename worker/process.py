"""The worker process: load the engine once, then run jobs in-process until told to stop.

RQ's default Worker forks a work-horse per job, which would reload the model for every job and breaks CUDA
after fork. ``ImagineWorker`` is an RQ SimpleWorker (jobs run in this process) that keeps what the fork gave:

- job timeouts: SimpleWorker's signal death penalty (SIGALRM in the main thread) raises in the job;
- liveness: a heartbeat thread renews the job's StartedJobRegistry entry every heartbeat_s / 3 seconds, so a
  worker killed mid-job (SIGKILL, OOM killer, power) leaves an entry that expires within heartbeat_s. Any
  worker's registry cleanup (every maintenance_s) then re-queues the job at the front (RQ Retry, up to
  max_retries) or, with no retries left, fails it with a clear reason and frees the user's slot.

SIGTERM/SIGINT stop after the current job (RQ's warm shutdown); a second signal stops at once. If Redis goes
away, for however long, the process stays up with the engine loaded: serve() starts a fresh RQ worker with
backoff until Redis answers again, and a job that could not report its end is run again (at-least-once).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import threading
import time
from typing import Any

import redis.exceptions
from rq.exceptions import AbandonedJobError, StopRequested
from rq.job import Job
from rq.queue import Queue
from rq.serializers import JSONSerializer
from rq.worker import SimpleWorker, WorkerStatus

from worker import metrics, tasks
from worker.engine import EngineClass, EngineProtocol, ErrorCode
from worker.events import EventType, failure, make_event
from worker.presence import Presence, new_worker_id
from worker.queue import rq_queue
from worker.recovery import LostJobs
from worker.settings import QueueSettings
from worker.spec import JobSpec, JobSpecError, Mode

log = logging.getLogger(__name__)

WORKER_DIED = "The worker making this job stopped unexpectedly. Please try again."


class ImagineWorker(SimpleWorker):
    """An RQ SimpleWorker with a heartbeat thread per job and a short, explicit abandonment window."""

    def __init__(self, *args: Any, heartbeat_s: int = 30, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.heartbeat_s = heartbeat_s
        self.jobs_run = 0
        self.lost_jobs = LostJobs(self.connection)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """How long a running job's registry entry lives without a heartbeat."""
        return self.heartbeat_s

    @property
    def dequeue_timeout(self) -> int:
        """Seconds to block waiting for a job: short enough to run maintenance (abandoned jobs) while idle."""
        return max(1, min(self.worker_ttl - 15, self.maintenance_interval))

    def run_maintenance_tasks(self) -> None:
        """RQ's registry cleanup (abandoned jobs), then jobs lost between dequeue and start."""
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]  # RQ 3.0 leaves it unannotated
        try:
            self.lost_jobs.sweep()
        except redis.exceptions.RedisError as exc:
            log.warning("worker: lost-job sweep failed: %s", exc)

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run the job in this process while a thread keeps its heartbeat."""
        execution = self.prepare_execution(job)
        done = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job, execution, done), name="heartbeat", daemon=True)
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            beat.join()
            self.jobs_run += 1
        self.set_state(WorkerStatus.IDLE)

    def _beat(self, job: Job, execution: Any, done: threading.Event) -> None:
        while not done.wait(max(0.2, self.heartbeat_s / 3)):
            try:
                self.maintain_heartbeats(job, execution)
            except redis.exceptions.RedisError as exc:
                log.warning("job %s: heartbeat failed: %s", job.id, exc)


def on_job_failure(job: Job, exc_type: type[BaseException] | None, exc_value: Any, tb: Any) -> bool:
    """RQ exception handler: make sure a job RQ gives up on still ends with a ``failed`` event.

    run_job turns every expected error into its own terminal event, so this sees what escaped it: a worker
    that died mid-job (AbandonedJobError, from registry cleanup, in whichever worker runs it), a forced
    shutdown, or Redis failing while the job reported. A job with retries left is run again (at the front
    of its queue); otherwise the user gets a clear reason (code worker_died, or internal) and the slot is freed.
    Returns True so other handlers still run.
    """
    kind = _kind(job)
    if job.retries_left:
        metrics.JOBS.labels(kind, "retried").inc()
        # RQ calls its exception handlers before Job.retry() takes one off retries_left: the rerun is the next run.
        most = tasks.current_runtime().settings.max_retries
        rerun = tasks.attempt_number(job, most) + 1
        log.warning("job %s: %s; running it again (attempt %d of %d)", job.id, _what(exc_type), rerun, most + 1)
        return True
    try:
        spec = JobSpec.from_json(job.args[0])
    except (JobSpecError, IndexError, TypeError):
        log.error("job %s: %s, and its spec is unreadable", job.id, _what(exc_type))
        return True
    if exc_type is AbandonedJobError:
        data = failure(ErrorCode.WORKER_DIED, WORKER_DIED)
    else:
        data = failure(ErrorCode.INTERNAL, tasks.INTERNAL_ERROR)
    metrics.JOBS.labels(spec.kind, "lost").inc()
    log.error("job %s: %s and no retries are left; failing it", job.id, _what(exc_type))
    rt = tasks.current_runtime()
    rt.admission.release(spec.requester.user_id, spec.id)
    rt.events.finish(make_event(EventType.FAILED, spec.id, spec.requester, data))
    return True


def _kind(job: Job) -> str:
    """The job's kind for metrics, read from its raw spec without validating it (it may not validate)."""
    try:
        kind = json.loads(job.args[0]).get("kind")
    except (ValueError, IndexError, TypeError, AttributeError):
        return "unknown"
    return kind if isinstance(kind, str) else "unknown"


def _what(exc_type: type[BaseException] | None) -> str:
    if exc_type is AbandonedJobError:
        return "its worker died"
    return f"it raised {exc_type.__name__ if exc_type else 'an unknown error'}"


def import_engine_class(path: str) -> EngineClass:
    """The engine class named "module:Class" (or "module.Class"), trusted to keep worker.engine's contract."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    engine_class: EngineClass = getattr(importlib.import_module(module_name), attr)
    return engine_class


class EngineLoadError(RuntimeError):
    """The engine could not be imported or loaded; the message says which and why."""


def load_engine(settings: QueueSettings) -> EngineProtocol:
    """Load the engine once for this process, logging what was loaded and how long it took.

    Raises EngineLoadError.
    """
    started = time.monotonic()
    try:
        engine = import_engine_class(settings.engine).load()
        card = engine.card()  # a card the bot could not read (a bad size, a comma in the name) stops us here
    except Exception as exc:
        raise EngineLoadError(f"could not load engine {settings.engine}: {exc}") from exc
    seconds = engine.load_seconds or time.monotonic() - started
    metrics.MODEL_LOAD_SECONDS.set(seconds)
    log.info(
        "engine loaded: model %s (%s, base %d px) on %s (%s) in %.1f s",
        card.name,
        card.family,
        card.base_resolution,
        engine.device,
        engine.dtype,
        seconds,
    )
    return engine


def serve(
    settings: QueueSettings,
    modes: list[Mode] | None = None,
    burst: bool = False,
    name: str | None = None,
    engine: EngineProtocol | None = None,
) -> int:
    """Load the engine (unless given), then work its model's queues (fast first); returns the jobs processed.

    The worker is in the fleet (its card published, worker/presence.py) from the moment the engine is loaded
    until it returns. With ``burst`` it returns once the queues are empty (or at the first Redis error).
    Otherwise it runs until SIGTERM/SIGINT and rides out Redis outages of any length: whatever Redis error ends
    RQ's loop, or stops a new RQ worker from starting, it waits (backoff up to 30 s, engine kept) and starts a
    fresh RQ worker. A job that could not report its end is found by RQ's registry cleanup once Redis is back and
    run again.
    """
    modes = modes or [Mode.FAST, Mode.RELAX]
    modes = sorted(modes, key=[Mode.FAST, Mode.RELAX].index)
    engine = engine if engine is not None else load_engine(settings)
    connection = settings.redis()
    runtime = tasks.Runtime.create(engine, settings, connection)
    tasks.install(runtime)
    model = runtime.card.name
    metrics.watch_queues(connection)
    ready = "ready: model %s on %s (%s), loaded in %.1f s; serving %s from %s"
    what = (model, engine.device, engine.dtype, engine.load_seconds, ", ".join(modes), settings.redis_url_safe)
    log.info(ready, *what, extra={"headline": True})  # one of the lines `imagine run` shows (cli/logs.py)
    with Presence(connection, runtime.card, new_worker_id(name), settings.heartbeat_s):
        return _work(connection, model, modes, settings, burst, name)


def _work(
    connection: Any, model: str, modes: list[Mode], settings: QueueSettings, burst: bool, name: str | None
) -> int:
    """serve()'s loop: RQ workers on the model's queues, one after another while Redis comes and goes."""
    processed, backoff, generation = 0, 1.0, 0
    try:
        while True:
            generation += 1
            if not burst:
                _stop_between_workers()
            worker: ImagineWorker | None = None
            try:
                worker = _rq_worker(connection, model, modes, settings, _rq_name(name, generation))
                # RQ pins its logger to INFO at import; follow the level this process configured instead.
                worker.work(burst=burst, logging_level=logging.getLevelName(logging.getLogger().getEffectiveLevel()))
                backoff = 1.0
            except redis.exceptions.RedisError as exc:
                log.warning("worker: lost Redis (%s: %s)", type(exc).__name__, exc)
            finally:
                if not burst:
                    _stop_between_workers()  # RQ's handlers would only flag the RQ worker that has finished
                if worker is not None:
                    processed += worker.jobs_run
                    _let_go(worker)
            if burst or (worker is not None and worker._shutdown_requested_date is not None):
                return processed
            log.warning("worker: work loop ended (Redis lost?); restarting when Redis answers, %.0f s at most", backoff)
            backoff = 1.0 if _wait_for_redis(connection, backoff) else min(backoff * 2, 30.0)
    except StopRequested:  # SIGTERM/SIGINT between RQ workers: no job is running
        return processed


def _rq_name(name: str | None, generation: int) -> str | None:
    """The RQ worker's name for ``--name``: ``<name>-<generation>.<pid>``. RQ keeps a dead worker's registration
    until it lapses (up to a minute), and refuses a second worker of the same name meanwhile, so a supervisor that
    restarts a killed ``imagine worker --name w`` at once needs the process in the name."""
    return f"{name}-{generation}.{os.getpid()}" if name else None


def _rq_worker(
    connection: Any, model: str, modes: list[Mode], settings: QueueSettings, name: str | None
) -> ImagineWorker:
    """A fresh RQ worker on the model's queues; its constructor talks to Redis (CLIENT SETNAME): may raise
    RedisError."""
    worker = ImagineWorker(
        [rq_queue(connection, model, mode) for mode in modes],
        connection=connection,
        serializer=JSONSerializer,
        name=name,
        heartbeat_s=settings.heartbeat_s,
        maintenance_interval=settings.maintenance_s,
        worker_ttl=max(60, settings.heartbeat_s * 2),
        log_job_description=False,
    )
    worker.push_exc_handler(on_job_failure)  # type: ignore[no-untyped-call]  # RQ 3.0 leaves it unannotated
    return worker


def _stop_on_signal(signum: int, frame: object) -> None:
    raise StopRequested()


def _stop_between_workers() -> None:
    """SIGTERM/SIGINT while no RQ worker loop runs (reconnecting to Redis) stop serve() at once: no job runs.

    RQ's worker installs its own handlers (finish the job, then stop) when its loop starts; these take over
    again when it ends, so a signal during a reconnect is neither lost on the old worker nor a traceback.
    """
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, _stop_on_signal)


def _let_go(worker: ImagineWorker) -> None:
    """Stop the pubsub thread an RQ worker leaves running when its teardown failed (Redis away)."""
    thread = worker.pubsub_thread
    if thread is not None and thread.is_alive():
        thread.stop()  # it exits at its next wake-up; it holds nothing else


def _wait_for_redis(connection: Any, at_most: float) -> bool:
    """Wait at least 1 s (never spin), then until Redis answers PING or ``at_most`` seconds pass; whether it did."""
    deadline = time.monotonic() + at_most
    while True:
        time.sleep(max(0.0, min(1.0, deadline - time.monotonic())))
        if _redis_up(connection):
            return True
        if time.monotonic() >= deadline:
            return False


def _redis_up(connection: Any) -> bool:
    try:
        return bool(connection.ping())
    except redis.exceptions.RedisError:
        return False

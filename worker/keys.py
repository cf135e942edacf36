"""Every Redis key and queue name the queue side uses, defined once.

Each entry says what the key holds and how long it lives. RQ's own keys (``rq:job:*``, ``rq:queue:*``,
registries and its per-user ``rq:rl:*`` concurrency sets) are named by RQ; the ones we derive from are here.
"""

from __future__ import annotations

from worker.spec import Mode

PREFIX = "imagine"


def queue_name(model: str, mode: Mode) -> str:
    """The RQ queue of one model's jobs in one mode, ``imagine:<model>:<mode>``; RQ keeps it as the list
    ``rq:queue:<this>`` while jobs wait. A worker serves its own model's queues, fast first, so its fast jobs are
    always served before relax ones. (Model names never hold a comma: ``worker.cards.ModelCard`` refuses them.)
    """
    return f"{PREFIX}:{model}:{mode}"


def parse_queue_name(name: str) -> tuple[str, Mode] | None:
    """(model, mode) of a name made by ``queue_name``; None for any other queue."""
    head, sep, mode = name.rpartition(":")
    if not sep or not head.startswith(f"{PREFIX}:") or mode not in set(Mode):
        return None
    model = head.removeprefix(f"{PREFIX}:")
    return (model, Mode(mode)) if model else None


# Dotted name of the job function: the bot enqueues by name and never imports worker runtime code.
TASK = "worker.tasks.run_job"

# Stream of job events (queued/started/progress/done/failed/cancelled), trimmed to about
# settings.events_maxlen entries (MAXLEN ~); consumers read it through a consumer group.
EVENTS = f"{PREFIX}:events"

# Sorted set of every admitted job not yet finished (member job id, score = safety-net deadline as a Unix
# time). Lives until empty; entries leave on done/failed/cancelled, or when their deadline passes.
INFLIGHT = f"{PREFIX}:inflight"


# The fleet: a sorted set of live workers (member: worker id, score: the Unix time its entry lapses, now +
# heartbeat_s at each beat). Lives as long as any worker does; entries past their score are ignored by readers
# and trimmed by the next worker's beat; a worker that exits cleanly removes its own.
FLEET = f"{PREFIX}:fleet"


def worker_card(worker_id: str) -> str:
    """The model card (JSON) a live worker serves; renewed at each beat with TTL heartbeat_s, deleted at exit."""
    return f"{PREFIX}:worker:{worker_id}:card"


def spec(job_id: str) -> str:
    """The job's spec as JSON; kept settings.spec_ttl (30 days) so follow-ups can regenerate images."""
    return f"{PREFIX}:spec:{job_id}"


def final(job_id: str) -> str:
    """The job's outcome as JSON, set once (SET NX) with its terminal event; the idempotency key. spec_ttl."""
    return f"{PREFIX}:final:{job_id}"


def cancel(job_id: str) -> str:
    """Present while a cancel was asked for; the worker polls it between steps. Lives settings.spec_ttl."""
    return f"{PREFIX}:cancel:{job_id}"


def user_jobs(user_id: int) -> str:
    """Sorted set of one user's admitted, unfinished jobs (score = deadline), like INFLIGHT. Until empty."""
    return f"{PREFIX}:user:{user_id}:jobs"


def user_rate_limit(user_id: int) -> str:
    """RQ RateLimit key for a user's concurrent jobs; RQ keeps ``rq:rl:<this>`` sets while jobs are held."""
    return f"{PREFIX}:user:{user_id}"


def image(job_id: str, name: str) -> str:
    """One encoded image (grid.png, 1.png…, preview.png) in the Redis result store; settings.image_ttl (24 h)."""
    return f"{PREFIX}:img:{job_id}:{name}"


def requeued(job_id: str) -> str:
    """Set when a lost queued job is pushed back onto its queue, so only one worker does it; 10 minutes."""
    return f"{PREFIX}:requeued:{job_id}"

"""Every Redis key the bot itself owns, defined once (the queue's keys are in ``worker.keys``).

Each entry says what the key holds and how long it lives.
"""

from __future__ import annotations

PREFIX = "imagine:bot"

# How long the bot remembers where a job's messages are (its spec lives 30 days; buttons need only the spec).
RECORD_TTL_S = 7 * 24 * 3600

# The hash of the synced slash-command tree, so a restart syncs only when the commands changed. No expiry.
COMMAND_TREE_HASH = f"{PREFIX}:command-tree-hash"

# Sorted set of the jobs the bot still owes an answer (member job id, score = Unix time it was accepted): added
# once a job is admitted, removed once its end is shown (``delivered`` set) or it was found lost. The
# reconciler (bot/reconcile.py) walks it and drops entries older than RECORD_TTL_S (their records are gone). No
# expiry on the key itself; a Redis restart without persistence loses it with everything else (the bot keeps the
# jobs it handled in memory too).
PENDING = f"{PREFIX}:pending"


def record(job_id: str) -> str:
    """JSON ``JobRecord``: where the job's progress message and result go. RECORD_TTL_S."""
    return f"{PREFIX}:job:{job_id}"


def posting(job_id: str) -> str:
    """Set (NX) to the Unix time the bot first tried to post the job's result. A later try (after a crash between
    Discord taking the post and ``delivered`` being set) first looks for that post in the channel. RECORD_TTL_S."""
    return f"{PREFIX}:posting:{job_id}"


def delivered(job_id: str) -> str:
    """Set (NX) to the result message's id once the result is posted: the delivery idempotency key. RECORD_TTL_S."""
    return f"{PREFIX}:delivered:{job_id}"


def user_settings(user_id: int) -> str:
    """JSON ``UserSettings``: a user's /settings defaults. No expiry (removed by "Reset")."""
    return f"{PREFIX}:user:{user_id}:settings"


def cancel_reply(job_id: str) -> str:
    """JSON ``CancelReply``: the owner's ❌ press on the running job and its "Cancelling the job…" answer, kept to
    edit that answer once the job ends. As long as the press's interaction token lives (bot.jobs.TOKEN_LIFETIME_S)."""
    return f"{PREFIX}:cancel-reply:{job_id}"

"""The one line the bot logs for each job it has finished showing: what it was, whose, and how it ended.

``job 3f2a1b2c: imagine "a red fox in the snow" by alice: queued → done in 1.3 s → posted``. The delivery loop logs
it once the job's terminal event is handled (a repeat of the event is skipped before that), as a headline: it is
one of the lines a quiet ``imagine run`` shows (cli/logs.py).
"""

from __future__ import annotations

from bot.jobs import JobRecord
from worker.events import Event, EventType

PROMPT_SHOWN = 40  # characters of the prompt in the line
REASON_SHOWN = 100  # characters of a failure's reason


def ended_line(record: JobRecord, event: Event, who: str) -> str:
    """The job's line, for its terminal ``event``; ``who`` is its requester's name."""
    if event.type is EventType.DONE:
        seconds = event.data.get("seconds")
        took = f" in {float(seconds):.1f} s" if isinstance(seconds, int | float) else ""
        ending = f"done{took} → posted"
    elif event.type is EventType.FAILED:
        code = event.data.get("code") or "failed"
        ending = f"failed ({code}): {_cut(str(event.data.get('reason') or ''), REASON_SHOWN)}"
    else:
        ending = str(event.type)
    return f'job {record.job_id[:8]}: {record.kind} "{_cut(record.prompt, PROMPT_SHOWN)}" by {who}: queued → {ending}'


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

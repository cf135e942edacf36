"""What the bot says: message contents and error embeds, Midjourney-style. No Discord calls here.

Prompts are user text: they are shown escaped (so ``**`` cannot break the bold) and every message goes out with
``allowed_mentions`` that never ping @everyone or roles (see ``mentions``).
"""

from __future__ import annotations

import discord

from worker.spec import JobKind, Mode

RED = discord.Colour.red()
YELLOW = discord.Colour.gold()
BLURPLE = discord.Colour.blurple()
# Discord's limit on a message's content, and the share of it a shown prompt may take once escaped: the rest of
# the longest message (headline, mention, status) needs about 120.
MAX_CONTENT = 2000
MAX_PROMPT_SHOWN = 1500
ELLIPSIS = "…"


def discord_length(text: str) -> int:
    """Length as Discord counts it against its limits (UTF-16 code units: an emoji can count twice)."""
    return len(text.encode("utf-16-le")) // 2


def shown_prompt(text: str, limit: int = MAX_PROMPT_SHOWN) -> str:
    """The prompt as shown in bold: markdown escaped, then shortened so the escaped text fits ``limit``.

    Escaping can double a prompt (``***…``), so the cut is made on the escaped length; only the displayed prompt
    is shortened, never the job's.
    """
    escaped = discord.utils.escape_markdown(text)
    if discord_length(escaped) <= limit:
        return escaped
    budget = limit - discord_length(ELLIPSIS)
    low, high = 0, len(text)  # the longest prefix whose escaped form fits the budget
    while low < high:
        middle = (low + high + 1) // 2
        if discord_length(discord.utils.escape_markdown(text[:middle])) <= budget:
            low = middle
        else:
            high = middle - 1
    shown = discord.utils.escape_markdown(text[:low])
    while discord_length(shown) > budget:  # escaping is not quite monotonic in the prefix; never exceed
        low -= 1
        shown = discord.utils.escape_markdown(text[:low])
    return shown + ELLIPSIS


def mentions(user_id: int | None = None) -> discord.AllowedMentions:
    """Ping at most the one user a result is for; never @everyone, @here or roles, whatever the prompt says."""
    users = [discord.Object(user_id)] if user_id is not None else False
    return discord.AllowedMentions(everyone=False, roles=False, users=users, replied_user=False)


def headline(kind: JobKind, prompt: str, user_id: int, index: int = 0) -> str:
    """The first part of every message about a job: what it is, the prompt and who asked."""
    bold = f"**{shown_prompt(prompt)}** - <@{user_id}>"
    if kind is JobKind.UPSCALE:
        return f"Upscaling image #{index} with {bold}"
    if kind is JobKind.VARIATION:
        return f"Making variations for image #{index} with {bold}"
    return bold


def waiting(head: str) -> str:
    """The first response, before a worker takes the job."""
    return f"{head} (Waiting to start)"


def progress(head: str, percent: int, mode: Mode) -> str:
    """A running job's message."""
    return f"{head} ({percent}%) ({mode})"


def cancelled(head: str) -> str:
    """A job stopped by its owner."""
    return f"{head} (Cancelled)"


CANCELLING = "Cancelling the job…"  # the answer to ❌ on a running job, until it ends


def cancel_answer(ended: str) -> str:
    """The answer to ❌ once the job has ended, however it ended (``ended``: its terminal event's type)."""
    if ended == "done":
        return "Too late: the job had already finished."
    if ended == "failed":
        return "The job had already failed."
    return "Cancelled."


def result(kind: JobKind, prompt: str, user_id: int, mode: Mode, index: int = 0) -> str:
    """The result message: mentions the user so Discord notifies them."""
    bold = f"**{shown_prompt(prompt)}** - <@{user_id}>"
    if kind is JobKind.UPSCALE:
        return f"{bold} - Image #{index}" if index else bold
    if kind is JobKind.VARIATION:
        return f"**{shown_prompt(prompt)}** - Variations by <@{user_id}> ({mode})"
    return f"{bold} ({mode})"


def error_embed(title: str, message: str, hint: str | None = None, job_id: str | None = None) -> discord.Embed:
    """A red error embed, as Midjourney answers a bad request."""
    embed = discord.Embed(title=title, description=message, colour=RED)
    if hint:
        embed.add_field(name="Hint", value=hint[:1024], inline=False)
    if job_id:
        embed.set_footer(text=f"Job {job_id}")
    return embed


def invalid_parameter(message: str, hint: str | None, title: str = "Invalid parameter") -> discord.Embed:
    """A prompt the parser refused: title, message and hint (parameter errors' says where parameters go) are its."""
    return error_embed(title, message, hint)


def banned_prompt(word: str) -> discord.Embed:
    """A prompt containing a banned word."""
    return error_embed(
        "Banned prompt detected",
        f"Sorry! Our content filter does not allow the word `{discord.utils.escape_markdown(word)}`.",
        "Rephrase your prompt without it.",
    )


def queue_full(message: str) -> discord.Embed:
    """A job refused by the user's or the global limit."""
    return error_embed("Queue full", message, "Wait for a job to finish, or cancel one with its ❌ button.")


def no_model_online() -> discord.Embed:
    """Nothing can be drawn: no worker has published a model card (none started yet, or all stopped)."""
    return error_embed(
        "No model online",
        "No model is online yet: no image worker is running. Nothing was queued.",
        "Try again in a minute; /info shows the models online.",
    )


def model_offline(asked_by: str, requested: str, online: list[str]) -> discord.Embed:
    """A model (asked for by ``asked_by``: "--v 6", "Your /settings model"…) that no live worker serves."""
    embed = error_embed(
        "Model offline",
        f"{asked_by} asks for model `{_plain(requested)}`, which no worker online runs. Nothing was queued.",
        "Choose one of the models online with --v NAME, or in /settings.",
    )
    embed.add_field(name="Models online", value=_listed(online), inline=False)
    return embed


def not_supported(what: str, model: str, why: str) -> discord.Embed:
    """A flag or button the chosen model's family cannot honour (refused before anything is queued)."""
    return error_embed(
        "Not supported by this model",
        f"{what} is not available on `{_plain(model)}`: {why}. Nothing was queued.",
        "Leave it out, or choose another model with --v NAME (/info lists the models online).",
    )


def too_large(side: int, model: str, max_side: int) -> discord.Embed:
    """A job whose images would be longer on a side than the model's card allows."""
    return error_embed(
        "Image too large",
        f"This job would make images {side} px on a side; `{_plain(model)}` makes at most {max_side} px. "
        "Nothing was queued.",
        "Use a smaller --ar, or upscale the original grid image instead.",
    )


def model_label(name: str, aliases: tuple[str, ...] | list[str] = ()) -> str:
    """A model as lists show it: ``name`` (and its aliases), markdown-escaped."""
    text = f"`{_plain(name)}`"
    return f"{text} ({', '.join(discord.utils.escape_markdown(a) for a in aliases)})" if aliases else text


def _plain(text: str) -> str:
    # Names go inside `code`, where markdown does not apply; only a backtick could end it.
    return text.replace("`", "'")


def _listed(lines: list[str], limit: int = 1024) -> str:
    text = "\n".join(lines) if lines else "none"
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def job_queued(ahead: int | None) -> discord.Embed:
    """A job admitted but held back by the user's concurrent limit (``ahead``: their jobs held back before it)."""
    where = f" It is {ordinal(ahead + 1)} in your line." if ahead is not None else ""
    return discord.Embed(
        title="Job queued",
        description=f"You already have the maximum of jobs running; this one starts when one finishes.{where}",
        colour=YELLOW,
    )


def job_expired() -> discord.Embed:
    """A button whose job is no longer known."""
    return error_embed("Job expired", "This job is too old to act on. Run /imagine again.")


def stale_button() -> discord.Embed:
    """A button this bot version does not understand."""
    return error_embed("Unknown button", "This button is from an older version of the bot. Run /imagine again.")


def wrong_button(kind: JobKind) -> discord.Embed:
    """A button that does not belong under this kind of job (only a forged or mangled one can do that)."""
    return error_embed("Invalid button", f"That button does not apply to this {kind} job; use the buttons under it.")


def not_owner(owner_id: int) -> discord.Embed:
    """❌ pressed by someone other than the job's owner."""
    return error_embed("Not your job", f"Only <@{owner_id}>, who started this job, can cancel or delete it.")


def internal_error(job_id: str | None, reason: str | None = None) -> discord.Embed:
    """Something went wrong; the job id lets an operator find the log, which holds the details."""
    message = reason or "Something went wrong. Please try again."
    return error_embed("Internal error", message, job_id=job_id)


def job_lost(job_id: str) -> discord.Embed:
    """A job the queue forgot (Redis restarted without its data): it will never run."""
    return error_embed("Job lost", "This job was lost when the queue restarted; please run it again.", job_id=job_id)


def not_shown(count: int) -> discord.Embed:
    """Admitted jobs whose message could not be posted: they were cancelled, and their results will not appear."""
    if count == 1:
        return internal_error(None, "Your job could not be shown, so it was cancelled. Please try again.")
    return internal_error(None, f"{count} of your jobs could not be shown, so they were cancelled. Please try again.")


def queue_unavailable(job_id: str | None = None) -> discord.Embed:
    """The job queue (Redis) cannot be reached: nothing was queued, and trying again later will work."""
    return error_embed(
        "Queue unavailable",
        "The job queue can't be reached right now, so nothing was queued. Please try again in a minute.",
        job_id=job_id,
    )


def delivery_failed(channel_id: int) -> str:
    """Told to the user (by DM) when their result could not be posted where they asked."""
    return (
        f"Your image is ready, but I can't post in <#{channel_id}> (missing permissions). "
        "Ask a server admin to let me send messages and attach files there, then use /imagine again."
    )


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th… 11th, 12th, 13th… 21st."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"

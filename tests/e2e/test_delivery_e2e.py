"""End to end: delivery that loses nothing — a bot restart mid-job, a result after the interaction token expired,
and the per-user and global limits (Job queued, Queue full)."""

from __future__ import annotations

import pytest

from sandbox.rules import Rule
from tests.e2e.stack import Process, Stack, job_of, labels

pytestmark = pytest.mark.slow


def results(stack: Stack, prompt: str) -> list:
    """Result messages (grids) for a prompt; runs on the emulator's loop inside ``stack.wait``."""
    return [m for m in stack.discord.messages(stack.channel) if prompt in m.content and "U1" in labels(m)]


def test_restart_mid_job_delivers_once(stack: Stack) -> None:
    """A bot killed while its job runs delivers the result after it comes back, exactly once, without re-syncing."""
    syncs = sum(1 for r in stack.discord.requests if r.method == "PUT" and r.route.endswith("/commands"))
    stack.worker.pause()
    try:
        interaction = stack.slash("imagine", stack.alice, prompt="a phoenix")
        progress = interaction.original
        job = progress.buttons[0]["custom_id"].split(":")[2]
        stack.bot.stop(kill=True)
    finally:
        stack.worker.resume()
    stack.wait(lambda: stack.redis.exists(f"imagine:final:{job}"), 60, "the job to finish while the bot is down")
    stack.start_bot()
    stack.wait(lambda: results(stack, "a phoenix"), 60, "the result after the restart")
    stack.wait(lambda: all(m.id != progress.id for m in stack.discord.messages(stack.channel)), 10, "progress gone")

    stack.bot.stop()  # a clean restart must not deliver it again
    stack.start_bot()
    stack.slash("info", stack.alice)  # a round trip through the restarted bot
    assert len(stack.run(_results(stack, "a phoenix"))) == 1
    assert job_of(stack.run(_results(stack, "a phoenix"))[0]) == job
    assert sum(1 for r in stack.discord.requests if r.method == "PUT" and r.route.endswith("/commands")) == syncs
    assert "commands unchanged since the last sync" in stack.bot.output()


def test_sigterm_closes_the_gateway_session(stack: Stack) -> None:
    """``docker compose stop`` (SIGTERM) makes the bot close its session normally and exit 0; SIGKILL cannot."""
    gateway = stack.discord.emulator.gateway
    closed = len(gateway.close_codes)
    assert stack.bot.stop() == 0
    stack.wait(lambda: len(gateway.close_codes) > closed, 5, "the gateway connection to end")
    assert gateway.close_codes[-1] == 1000, (gateway.close_codes, stack.bot.output()[-1500:])
    assert gateway.session is None  # Discord shows the bot offline at once instead of after a session timeout
    assert "SIGTERM: closing the gateway session" in stack.bot.output()

    stack.start_bot()
    closed = len(gateway.close_codes)
    assert stack.bot.stop(kill=True) == -9
    stack.wait(lambda: len(gateway.close_codes) > closed, 5, "the gateway connection to end")
    assert gateway.close_codes[-1] != 1000
    stack.start_bot()
    stack.slash("info", stack.alice)


def test_a_rejected_token_is_a_clear_error(stack: Stack) -> None:
    """A wrong DISCORD_TOKEN ends `imagine bot` with exit 2 and a plain message that does not echo the token."""
    wrong = "MTIz.wrong-token.never-printed"
    bot = Process(stack.bot.args, {**stack.bot.env, "DISCORD_TOKEN": wrong}, "bad-token-bot")
    bot.start()
    try:
        assert bot.proc is not None
        assert bot.proc.wait(30) == 2, bot.output()[-1500:]
        output = bot.output()
    finally:
        bot.stop()
        bot.log_path.unlink(missing_ok=True)
    assert "Discord rejected DISCORD_TOKEN" in output
    assert "Traceback" not in output
    assert wrong not in output and "wrong-token" not in output
    assert [v.rule for v in stack.discord.pop_violations()] == [Rule.UNAUTHORIZED]


async def _results(stack: Stack, prompt: str) -> list:
    return results(stack, prompt)


def test_result_after_token_expiry(stack: Stack) -> None:
    """A job that finishes 16 minutes after /imagine (emulator clock) is still delivered, with the bot token only."""
    stack.worker.pause()
    try:
        interaction = stack.slash("imagine", stack.bob, prompt="a slow glacier")
        stack.discord.advance_clock(16 * 60)
    finally:
        stack.worker.resume()
    grid = stack.wait(lambda: results(stack, "a slow glacier"), 60, "the late result")[0]
    assert f"<@{stack.bob.id}>" in grid.content
    stack.wait(lambda: interaction.original.deleted, 10, "the progress message to go")
    # The autouse fixture asserts that no request used the expired token (it would be a recorded violation).


def test_limits_job_queued_and_queue_full(stack: Stack) -> None:
    """Over the concurrent limit a job waits (Job queued, with its position); over the per-user or global cap,
    Queue full; every admitted job is delivered once the worker runs."""
    stack.worker.pause()
    try:
        first = stack.slash("imagine", stack.alice, prompt="queued cat --repeat 2").original
        assert first.content.endswith("(Waiting to start)") and not first.embeds
        second = stack.wait_message(lambda m: m.content.startswith("**queued cat") and m.id != first.id)
        assert (
            second.embeds[0]["title"] == "Job queued" and "It is 1st in your line." in second.embeds[0]["description"]
        )
        third = stack.slash("imagine", stack.alice, prompt="queued dog").original
        assert third.embeds and third.embeds[0]["title"] == "Job queued"
        refused = stack.slash("imagine", stack.alice, prompt="one too many").original
        assert refused.ephemeral and refused.embeds[0]["title"] == "Queue full"
        assert "3 jobs" in refused.embeds[0]["description"]

        stack.slash("imagine", stack.bob, prompt="bob fills --repeat 2")
        full = stack.slash("imagine", stack.carol, prompt="no room").original
        assert full.ephemeral and full.embeds[0]["title"] == "Queue full"
    finally:
        stack.worker.resume()
    stack.wait(
        lambda: (
            len(results(stack, "queued cat")) == 2
            and results(stack, "queued dog")
            and len(results(stack, "bob fills")) == 2
        ),
        120,
        "every admitted job delivered",
    )
    assert not any("one too many" in m.content or "no room" in m.content for m in stack.messages())

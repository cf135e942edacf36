"""An unmodified discord.py bot against the emulator: commands, deferrals, files and persistent buttons."""

from __future__ import annotations

from sandbox.botrunner import running_bot
from tests.sandbox.sandbox_harness import PNG, TinyBot, run_async, scene


@run_async
async def test_slash_command_gets_a_reply() -> None:
    """A slash command reaches the bot over the gateway and its reply lands in the channel."""
    async with scene(bot=TinyBot()) as s:
        interaction = await s.discord.slash("ping", user=s.alice, channel=s.general)
        reply = await s.discord.wait_for_original(interaction)
        assert reply.content == "pong"
        assert reply.author is s.discord.bot
        assert s.discord.messages(s.general) == [reply]


@run_async
async def test_deferred_command_follows_up_with_a_file_and_buttons() -> None:
    """A deferred response is filled by the follow-up, carrying the PNG bytes and the button row."""
    async with scene(bot=TinyBot()) as s:
        interaction = await s.discord.slash("imagine", prompt="a red fox", count=3, user=s.alice, channel=s.general)
        assert interaction.original is not None  # the "thinking…" placeholder exists at once
        message = await s.discord.wait_for_original(interaction)
        assert message.content.startswith("**a red fox**")
        assert [a.filename for a in message.attachments] == ["grid.png"]
        assert message.attachments[0].data == PNG
        assert [b["label"] for b in message.buttons] == ["U1", "U2", "U3"]
        assert message.button("upscale:job1:2")["label"] == "U2"
        assert s.discord.messages(s.general) == [message]  # the follow-up filled the placeholder, no second message


@run_async
async def test_attachment_bytes_are_served_at_their_url() -> None:
    """An attachment's URL, as the bot sees it, serves the uploaded bytes."""
    bot = TinyBot()
    async with scene(bot=bot) as s:
        interaction = await s.discord.slash("imagine", prompt="fox", user=s.alice, channel=s.general)
        message = await s.discord.wait_for_original(interaction)
        fetched = await bot.get_channel(s.general.id).fetch_message(message.id)
        assert await fetched.attachments[0].read() == PNG


@run_async
async def test_persistent_button_survives_a_bot_restart() -> None:
    """A DynamicItem button posted by one bot process is answered by the next one after a restart."""
    async with scene(bot=None) as s:
        async with running_bot(TinyBot(), s.discord):
            interaction = await s.discord.slash("imagine", prompt="fox", user=s.alice, channel=s.general)
            grid = await s.discord.wait_for_original(interaction)
        async with running_bot(TinyBot(), s.discord):
            click = await s.discord.click(grid, "U2", user=s.bob)
            reply = await s.discord.wait_for_original(click)
        assert reply.content == "upscaling job1 #2"
        assert reply.interaction is click and click.user is s.bob
        assert s.discord.emulator.gateway.identified == 2


@run_async
async def test_dropped_gateway_connection_resumes_and_replays_missed_events() -> None:
    """After a dropped connection the bot RESUMEs and still gets the slash command sent while it was away."""
    async with scene(bot=TinyBot()) as s:
        await s.discord.drop_gateway()
        interaction = await s.discord.slash("ping", user=s.alice, channel=s.general, wait=False)
        reply = await s.discord.wait_for_original(interaction)
        assert reply.content == "pong"
        gateway = s.discord.emulator.gateway
        assert (gateway.identified, gateway.resumed) == (1, 1)


@run_async
async def test_bot_retries_after_a_rate_limit() -> None:
    """A 429 on the bot's channel post is honoured (retry after the delay) and the message lands once."""
    async with scene(bot=TinyBot()) as s:
        route = "POST /channels/{channel_id}/messages"
        s.discord.force_rate_limit(route, retry_after=0.3)
        await s.discord.slash("announce", text="hello all", user=s.alice, channel=s.general)
        posted = await s.discord.wait_for_message(s.general, lambda m: m.content == "hello all")
        statuses = [r.status for r in s.discord.requests if f"{r.method} {r.route}" == route]
        assert statuses == [429, 200]
        assert [m.content for m in s.discord.messages(s.general)] == ["hello all"] and posted.author is s.discord.bot
        ephemeral = s.discord.messages(s.general, viewer=s.alice)
        assert [m.content for m in ephemeral] == ["on it", "hello all"]


@run_async
async def test_slash_command_in_a_dm() -> None:
    """A slash command in the DM with the bot is answered in that DM."""
    async with scene(bot=TinyBot()) as s:
        dm = s.discord.dm(s.alice)
        interaction = await s.discord.slash("ping", user=s.alice, channel=dm)
        reply = await s.discord.wait_for_original(interaction)
        assert reply.channel_id == dm.id and reply.content == "pong"
        assert s.discord.messages(s.general) == []


@run_async
async def test_too_long_reply_is_refused_and_recorded() -> None:
    """A reply over 2000 characters gets Discord's 400 and is recorded, and so is the unanswered interaction."""
    bot = TinyBot()
    async with scene(bot=bot) as s:
        await s.discord.slash("chatter", length=2001, user=s.alice, channel=s.general, wait=False)
        await s.discord.world.wait_until(lambda: bot.errors, timeout=5)
        assert [v.rule for v in s.discord.pop_violations()] == ["content_too_long"]
        assert s.discord.messages(s.general) == []
        s.discord.advance_clock(3.1)  # the refused reply leaves the user with "did not respond"
        s.discord.check_unanswered()
        assert [v.rule for v in s.discord.pop_violations()] == ["no_initial_response"]


@run_async
async def test_modal_opened_by_the_bot_can_be_submitted() -> None:
    """The bot's modal is recorded, and the user's submission reaches the bot's Modal.on_submit."""
    async with scene(bot=TinyBot()) as s:
        opened = await s.discord.slash("retitle", user=s.alice, channel=s.general)
        assert opened.modal is not None and opened.modal["title"] == "New title"
        submitted = await s.discord.submit_modal(opened, {"title": "Foxes at dusk"})
        reply = await s.discord.wait_for_original(submitted)
        assert reply.content == "retitled: Foxes at dusk"
        assert submitted.user is s.alice

"""The sandbox web page: its API drives the bot as Discord would, and in a real browser a person can use the bot."""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox.models import InteractionType
from tests.sandbox.web_harness import PageScene, browser, browser_missing, page_scene

NO_BROWSER = browser_missing()
REPO = Path(__file__).resolve().parents[2]


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test in a fresh event loop, with an overall time limit (a browser takes a few seconds)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), timeout=90))

    return wrapper


async def post(s: PageScene, path: str, **body: Any) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(s.url + path, json=body) as response:
        return await response.json()


@run_async
async def test_a_typed_command_reaches_the_bot_as_an_interaction() -> None:
    """POST /api/send runs the slash command as the chosen user; the bot's grid lands in the channel."""
    async with page_scene() as s:
        answer = await post(s, "/api/send", user_id=str(s.alice.id), channel_id=str(s.general.id), text="/imagine fox")
        assert answer == {"ok": True}
        (interaction,) = s.discord.world.interactions.values()
        assert interaction.type is InteractionType.APPLICATION_COMMAND and interaction.user is s.alice
        assert interaction.data["options"] == [{"name": "prompt", "type": 3, "value": "fox"}]
        has_u1 = lambda m: "U1" in [b.get("label") for b in m.buttons]  # noqa: E731
        grid = await s.discord.wait_for_message(s.general, has_u1, timeout=10)
        assert grid.attachments[0].filename == "grid.png"


@run_async
async def test_clicks_and_selects_are_component_interactions() -> None:
    """A click and a select choice from the page arrive as MESSAGE_COMPONENT with Discord's data."""
    async with page_scene() as s:
        ids = {"user_id": str(s.alice.id), "channel_id": str(s.general.id)}
        await post(s, "/api/send", **ids, text="/settings")
        panel = await s.discord.wait_for_message(s.general, lambda m: m.embeds, viewer=s.alice)
        picked = await post(s, "/api/select", **ids, message_id=str(panel.id), custom_id="panel:aspect", values=["3:2"])
        assert picked == {"ok": True}
        select = list(s.discord.world.interactions.values())[-1]
        assert select.data == {"custom_id": "panel:aspect", "component_type": 3, "values": ["3:2"]}
        assert panel.embeds[0]["fields"][0]["value"] == "3:2"
        clicked = await post(s, "/api/click", **ids, message_id=str(panel.id), custom_id="panel:reset")
        assert clicked == {"ok": True}
        assert list(s.discord.world.interactions.values())[-1].data == {"custom_id": "panel:reset", "component_type": 2}


@run_async
async def test_mistakes_and_silence_come_back_as_errors() -> None:
    """Unknown commands, no user chosen and a bot that never answers give the page a message; plain text is posted."""
    async with page_scene() as s:
        ids = {"user_id": str(s.alice.id), "channel_id": str(s.general.id)}
        unknown = await post(s, "/api/send", **ids, text="/dance")
        assert not unknown["ok"] and "/imagine" in unknown["error"]
        nobody = await post(s, "/api/send", user_id="1", channel_id=str(s.general.id), text="/imagine fox")
        assert nobody == {"ok": False, "error": "Pick who you are in the user menu first"}
        said = await post(s, "/api/send", **ids, text="hello **world**")
        assert said == {"ok": True} and s.discord.messages(s.general)[-1].content == "hello **world**"
        silence = await post(s, "/api/send", **ids, text="/nap")
        assert silence == {"ok": False, "error": "The application did not respond"}
        s.discord.check_unanswered()
        assert [v.rule.name for v in s.discord.pop_violations()] == ["NO_RESPONSE"]


@run_async
async def test_before_the_bot_connects_the_page_says_so() -> None:
    """With no bot on the gateway yet, a command is refused with a hint instead of an unknown-command error."""
    async with page_scene(with_bot=False) as s:
        ids = {"user_id": str(s.alice.id), "channel_id": str(s.general.id)}
        answer = await post(s, "/api/send", **ids, text="/imagine fox")
        assert answer == {"ok": False, "error": "imagine is not connected yet: wait for the green dot at the top"}


@run_async
async def test_a_modal_comes_back_to_the_page_and_its_form_is_submitted() -> None:
    """A command answered with a modal returns the form; submitting it sends MODAL_SUBMIT with the values."""
    async with page_scene() as s:
        ids = {"user_id": str(s.alice.id), "channel_id": str(s.general.id)}
        opened = await post(s, "/api/send", **ids, text="/note")
        modal = opened["modal"]
        assert modal["title"] == "Leave a note"
        answer = await post(s, "/api/modal", **ids, interaction_id=modal["interaction_id"], values={"note": "hi"})
        assert answer == {"ok": True}
        note = await s.discord.wait_for_message(s.general, lambda m: m.content.startswith("note:"))
        assert note.content == "note: **hi**"


@run_async
async def test_the_socket_pushes_the_channel_as_the_viewer_sees_it() -> None:
    """Snapshots list users, channels (a DM too) and commands; ephemeral messages go only to their user."""
    async with page_scene() as s, aiohttp.ClientSession() as http, http.ws_connect(s.url + "/api/ws") as ws:
        await post(s, "/api/send", user_id=str(s.alice.id), channel_id=str(s.general.id), text="/settings")
        await ws.send_str(json.dumps({"user_id": str(s.alice.id), "channel_id": str(s.general.id)}))
        snap = await _snapshot_where(ws, lambda snap: snap["messages"])
        assert [u["name"] for u in snap["users"]] == ["alice", "bob"]
        channels = [(c["name"], c["dm"]) for c in snap["channels"]]
        assert channels == [("general", False), ("showcase", False), ("imagine", True)]
        assert {c["name"] for c in snap["commands"]} == {"imagine", "settings", "note", "nap"}
        assert snap["bot"]["online"] and snap["messages"][0]["ephemeral"]
        assert snap["messages"][0]["used"] == {"user": "alice", "command": "settings"}
        await ws.send_str(json.dumps({"user_id": str(s.bob.id), "channel_id": str(s.general.id)}))
        assert await _snapshot_where(ws, lambda snap: snap["messages"] == [])


async def _snapshot_where(ws: aiohttp.ClientWebSocketResponse, condition: Callable[[dict], Any]) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            snap = json.loads((await ws.receive()).data)
            if condition(snap):
                return snap


@pytest.mark.slow
@pytest.mark.skipif(NO_BROWSER is not None, reason=NO_BROWSER or "")
@run_async
async def test_in_a_browser_imagine_then_upscale() -> None:
    """A person types /imagine (with markdown in it), sees the prompt as typed and the grid, clicks U1 and sees the
    upscaled picture."""
    async with page_scene() as s, browser() as page:
        await page.goto(s.url)
        await page.wait_for_selector(".welcome")
        await page.fill("#input", "/imagine a lighthouse at *dusk* by snake_river")
        await page.press("#input", "Enter")
        grid = page.locator("article", has=page.locator("img[src$='grid.png']"))
        await grid.wait_for(timeout=15_000)
        # The bot escapes the prompt's markdown; the page renders the escapes as Discord does, backslashes gone.
        assert "a lighthouse at *dusk* by snake_river" in await grid.locator(".content strong").inner_text()
        assert await grid.locator(".context").inner_text() == "@alice used /imagine"
        await grid.locator("button", has_text="U1").click()
        upscaled = page.locator("article", has=page.locator("img[src$='upscaled.png']"))
        await upscaled.wait_for(timeout=15_000)
        assert "Image #1" in await upscaled.locator(".content").inner_text()
        assert await upscaled.locator(".mention").last.inner_text() == "@alice"
        assert await page.locator(".toast").count() == 0


@pytest.mark.slow
@pytest.mark.skipif(NO_BROWSER is not None, reason=NO_BROWSER or "")
@run_async
async def test_in_a_browser_settings_are_private_and_a_select_edits_them() -> None:
    """/settings shows "Only you can see this" to alice only; picking in its select menu updates the embed."""
    async with page_scene() as s, browser() as page:
        await page.goto(s.url)
        await page.wait_for_selector(".welcome")
        await page.fill("#input", "/settings")
        await page.press("#input", "Enter")
        panel = page.locator("article.ephemeral")
        await panel.wait_for()
        assert "Only you can see this" in await panel.inner_text()
        await panel.locator("select.menu").select_option("3:2")
        await page.locator(".field-value", has_text="3:2").wait_for()
        await page.select_option("#user", label="bob")
        await page.wait_for_selector(".welcome")  # bob sees an empty channel
        await page.locator(".channel", has_text="imagine").click()  # and his DM with the bot
        await page.wait_for_function("document.querySelector('#channel-icon').textContent === '@'")


@run_async
async def test_python_m_sandbox_serves_the_page_with_its_files() -> None:
    """`python -m sandbox --web-port` prints the page's URL and serves the page, its script and its styles."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox", "--port", "0", "--web-port", "0", cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        lines = [(await process.stdout.readline()).decode().strip() for _ in range(3)]
        url = lines[2].removeprefix("WEB_URL=")
        assert lines[0].startswith("IMAGINE_DISCORD_URL=http://127.0.0.1:") and url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as http:
            files = [("/", "<title>imagine"), ("/static/app.js", "/api/ws"), ("/static/style.css", ".embed")]
            for path, expected in files:
                async with http.get(url + path) as response:
                    assert response.status == 200 and expected in await response.text()
    finally:
        process.terminate()
        await process.wait()

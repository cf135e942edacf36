"""The test-facing API and the ways a bot is pointed at the emulator, including from another process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import discord.gateway
import discord.http
import pytest

from sandbox.connect import URL_ENV, point_discord_py_from_env
from tests.sandbox.sandbox_harness import TinyBot, run_async, scene

REPO = Path(__file__).resolve().parents[2]


@run_async
async def test_slash_checks_the_synced_command_and_its_options() -> None:
    """slash() refuses unsynced commands, undeclared or missing options, wrong types and non-members."""
    async with scene(bot=TinyBot()) as s:
        with pytest.raises(LookupError, match="no slash command /paint"):
            await s.discord.slash("paint", user=s.alice, channel=s.general)
        with pytest.raises(TypeError, match="no options"):
            await s.discord.slash("ping", user=s.alice, channel=s.general, loud=True)
        with pytest.raises(TypeError, match="needs options"):
            await s.discord.slash("imagine", user=s.alice, channel=s.general)
        with pytest.raises(TypeError, match="takes"):
            await s.discord.slash("imagine", prompt="fox", count="two", user=s.alice, channel=s.general)
        stranger = s.discord.add_user("mallory")
        with pytest.raises(ValueError, match="not a member"):
            await s.discord.slash("ping", user=stranger, channel=s.general)


@run_async
async def test_click_finds_buttons_by_label_or_custom_id_and_refuses_missing_ones() -> None:
    """click() accepts a label or a custom_id and names the buttons there are when neither matches."""
    async with scene(bot=TinyBot()) as s:
        grid = await s.discord.wait_for_original(
            await s.discord.slash("imagine", prompt="fox", user=s.alice, channel=s.general)
        )
        with pytest.raises(KeyError, match="U1"):
            await s.discord.click(grid, "V1", user=s.bob)
        by_id = await s.discord.click(grid, "upscale:job1:1", user=s.bob)
        assert (await s.discord.wait_for_original(by_id)).content == "upscaling job1 #1"


@run_async
async def test_wait_for_message_times_out_with_a_clear_error() -> None:
    """Waiting for a message that never comes raises TimeoutError naming the channel."""
    async with scene() as s:
        with pytest.raises(TimeoutError, match="no matching message"):
            await s.discord.wait_for_message(s.general, timeout=0.2)


@run_async
async def test_responses_carry_rate_limit_headers_and_forced_429s_look_like_discords() -> None:
    """Every API response has X-RateLimit-* headers; a forced global 429 has Retry-After, Via and a JSON body."""
    async with scene() as s:
        headers = {"Authorization": f"Bot {s.discord.bot_token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.get(f"{s.discord.emulator.api_url}/users/@me") as response:
                assert response.status == 200 and response.headers["Content-Type"] == "application/json"
                assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Bucket"} <= set(response.headers)
            s.discord.force_rate_limit(retry_after=1.5, is_global=True)
            async with http.get(f"{s.discord.emulator.api_url}/users/@me") as response:
                body = await response.json()
                assert response.status == 429 and response.headers["X-RateLimit-Global"] == "true"
                assert response.headers["Via"] and float(response.headers["Retry-After"]) == 1.5
            assert body == {"message": "You are being rate limited.", "retry_after": 1.5, "global": True}


@run_async
async def test_a_forced_error_refuses_the_next_matching_request_without_serving_it() -> None:
    """force_error: the next request for the route gets the error and changes nothing; the one after is served."""
    async with scene() as s:
        headers = {"Authorization": f"Bot {s.discord.bot_token}"}
        s.discord.force_error(
            "POST /channels/{channel_id}/messages", status=400, code=50035, message="Invalid Form Body"
        )
        async with aiohttp.ClientSession(headers=headers) as http:
            url = f"{s.discord.emulator.api_url}/channels/{s.general.id}/messages"
            async with http.post(url, json={"content": "first"}) as response:
                assert response.status == 400
                assert await response.json() == {"message": "Invalid Form Body", "code": 50035}
            async with http.post(url, json={"content": "second"}) as response:
                assert response.status == 200
        assert [m.content for m in s.discord.messages(s.general)] == ["second"]


def test_point_discord_py_from_env_sets_rest_and_gateway_urls() -> None:
    """With IMAGINE_DISCORD_URL set, discord.py's REST base and default gateway point at the emulator."""
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        assert point_discord_py_from_env({}) is None
        assert saved[0] == discord.http.Route.BASE
        point_discord_py_from_env({URL_ENV: "http://127.0.0.1:9/"})
        assert discord.http.Route.BASE == "http://127.0.0.1:9/api/v10"
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:9/gateway"
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


@pytest.mark.slow
@run_async
async def test_a_bot_in_another_process_answers_a_slash_command() -> None:
    """A bot process configured only by environment variables logs in, syncs and answers /ping."""
    async with scene() as s:
        env = {**os.environ, URL_ENV: s.discord.base_url, "DISCORD_TOKEN": s.discord.bot_token}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.sandbox.external_bot", cwd=REPO, env=env, stderr=asyncio.subprocess.PIPE
        )
        try:
            await s.discord.wait_for_bot(timeout=20)
            await s.discord.world.wait_until(lambda: s.discord.world.commands, timeout=10)
            interaction = await s.discord.slash("ping", user=s.alice, channel=s.general)
            assert (await s.discord.wait_for_original(interaction)).content == "pong"
        finally:
            process.terminate()
            await process.wait()


def test_sandbox_never_imports_the_bot_package() -> None:
    """Importing every sandbox module in a fresh interpreter loads no module of the project's bot package."""
    probe = (
        "import importlib, pkgutil, sys, sandbox\n"
        "for m in pkgutil.walk_packages(sandbox.__path__, 'sandbox.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n == 'bot' or n.startswith('bot.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@run_async
async def test_subcommands_user_options_and_choices_are_built_like_discords_client() -> None:
    """'group sub' nests options, a User option is sent by id with `resolved`, choices are enforced."""
    async with scene() as s:
        options = [
            {"type": 6, "name": "who", "description": "w", "required": True},
            {"type": 3, "name": "mode", "description": "m", "choices": [{"name": "Fast", "value": "fast"}]},
        ]
        settings = {
            "name": "settings",
            "description": "s",
            "options": [{"type": 1, "name": "show", "description": "x", "options": options}],
        }
        headers = {"Authorization": f"Bot {s.discord.bot_token}"}
        url = f"{s.discord.emulator.api_url}/applications/{s.discord.world.application_id}/commands"
        async with aiohttp.ClientSession(headers=headers) as http, http.put(url, json=[settings]) as response:
            assert response.status == 200
        with pytest.raises(ValueError, match="must be one of"):
            await s.discord.slash("settings show", who=s.bob, mode="slow", user=s.alice, channel=s.general)
        interaction = await s.discord.slash(
            "settings show", who=s.bob, mode="fast", user=s.alice, channel=s.general, wait=False
        )
        (sub,) = interaction.data["options"]
        assert (sub["name"], sub["type"]) == ("show", 1)
        assert {o["name"]: o["value"] for o in sub["options"]} == {"who": str(s.bob.id), "mode": "fast"}
        assert interaction.data["resolved"]["users"][str(s.bob.id)]["username"] == "bob"
        # No bot runs here: answer it, so no unanswered interaction is left at teardown.
        callback = f"{s.discord.emulator.api_url}/interactions/{interaction.id}/{interaction.token}/callback"
        async with aiohttp.ClientSession() as http, http.post(callback, json={"type": 5}) as response:
            assert response.status == 204

"""Discord's rules and the OpenAPI document, enforced on raw requests: each break is a 400 and a recorded violation."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from sandbox.client import Sandbox
from sandbox.models import Interaction
from tests.openapi import needs_openapi
from tests.sandbox.sandbox_harness import PNG, run_async, scene

BUTTON = {"type": 2, "style": 1, "label": "go", "custom_id": "go"}


def _api(sandbox: Sandbox, token: str | None = None) -> aiohttp.ClientSession:
    token = token if token is not None else sandbox.bot_token
    return aiohttp.ClientSession(sandbox.emulator.api_url + "/", headers={"Authorization": f"Bot {token}"})


def _form(payload: dict[str, Any], files: list[tuple[str, bytes]]) -> aiohttp.FormData:
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("payload_json", json.dumps(payload), content_type="application/json")
    for index, (name, data) in enumerate(files):
        form.add_field(f"files[{index}]", data, filename=name, content_type="application/octet-stream")
    return form


async def _command_interaction(sandbox: Sandbox, channel: Any, user: Any) -> Interaction:
    """An unanswered /ping interaction, with the command synced over raw REST."""
    async with _api(sandbox) as api:
        url = f"applications/{sandbox.world.application_id}/commands"
        async with api.put(url, json=[{"name": "ping", "description": "p", "type": 1}]) as response:
            assert response.status == 200
    return await sandbox.slash("ping", user=user, channel=channel, wait=False)


async def _answer(api: aiohttp.ClientSession, interaction: Interaction) -> None:
    """Defer an interaction, so none is left unanswered when the test ends."""
    async with api.post(f"interactions/{interaction.id}/{interaction.token}/callback", json={"type": 5}) as response:
        assert response.status == 204


def _rules(sandbox: Sandbox) -> list[str]:
    return [str(v.rule) for v in sandbox.pop_violations()]


@needs_openapi
@run_async
async def test_schema_rejects_a_malformed_json_body() -> None:
    """A body the OpenAPI document forbids (content as a number) is a 400 Invalid Form Body and a violation."""
    async with scene() as s, _api(s.discord) as api:
        async with api.post(f"channels/{s.general.id}/messages", json={"content": 5}) as response:
            assert response.status == 400
            body = await response.json()
        assert body["code"] == 50035 and "content" in body["message"]
        violations = s.discord.pop_violations()
        assert [v.rule for v in violations] == ["schema"] and "content" in violations[0].detail
        assert s.discord.messages(s.general) == []


@needs_openapi
@run_async
async def test_schema_checks_payload_json_in_multipart_bodies() -> None:
    """A malformed payload_json next to an uploaded file is caught as well."""
    async with scene() as s, _api(s.discord) as api:
        form = _form({"content": "hi", "embeds": "not a list"}, [("a.png", PNG)])
        async with api.post(f"channels/{s.general.id}/messages", data=form) as response:
            assert response.status == 400
        assert _rules(s.discord) == ["schema"]


@run_async
async def test_nested_multipart_body_is_invalid_form_body() -> None:
    """A multipart/* part inside a multipart body is a 400 Invalid Form Body, not a server error."""
    async with scene() as s, _api(s.discord) as api:
        inner = aiohttp.MultipartWriter("mixed")
        inner.append("hi")
        outer = aiohttp.MultipartWriter("form-data")
        outer.append(inner)
        async with api.post(f"channels/{s.general.id}/messages", data=outer) as response:
            assert response.status == 400
            assert (await response.json())["code"] == 50035
        assert s.discord.messages(s.general) == []


@needs_openapi
@run_async
async def test_teardown_fails_a_test_that_broke_a_rule() -> None:
    """Leaving a Sandbox with unclaimed violations raises, so a bot's swallowed 400 still fails its test."""
    with pytest.raises(AssertionError, match="schema"):
        async with (
            scene() as s,
            _api(s.discord) as api,
            api.post(f"channels/{s.general.id}/messages", json={"content": 5}) as response,
        ):
            assert response.status == 400


def _rows(rows: int, per_row: int, custom_id: str | None = None) -> list[dict[str, Any]]:
    def button(row: int, col: int) -> dict[str, Any]:
        return {**BUTTON, "custom_id": custom_id or f"b{row}-{col}"}

    return [{"type": 1, "components": [button(r, c) for c in range(per_row)]} for r in range(rows)]


@pytest.mark.parametrize(
    ("payload", "files", "rule", "status"),
    [
        ({"content": "x" * 2001}, [], "content_too_long", 400),
        ({"content": ""}, [], "empty_message", 400),
        ({"content": "x", "components": _rows(1, 1, "c" * 101)}, [], "custom_id_too_long", 400),
        ({"content": "x", "components": _rows(6, 1)}, [], "too_many_action_rows", 400),
        ({"content": "x", "components": _rows(1, 6)}, [], "too_many_row_items", 400),
        ({"content": "x", "components": _rows(1, 2, "same")}, [], "duplicate_custom_id", 400),
        ({"content": "x"}, [(f"{i}.png", PNG) for i in range(11)], "too_many_attachments", 400),
        ({"content": "x"}, [("big.bin", b"\0" * (10 * 1024 * 1024 + 1))], "file_too_large", 413),
    ],
    ids=["content", "empty", "custom_id", "rows", "row_items", "duplicate_id", "attachments", "file_size"],
)
@run_async
async def test_message_limits_are_enforced(
    payload: dict[str, Any], files: list[tuple[str, bytes]], rule: str, status: int
) -> None:
    """Each of Discord's message limits is answered with its error and recorded under its rule."""
    async with scene() as s, _api(s.discord) as api:
        body = {"data": _form(payload, files)} if files else {"json": payload}
        async with api.post(f"channels/{s.general.id}/messages", **body) as response:
            assert response.status == status, await response.text()
        assert _rules(s.discord) == [rule]
        assert s.discord.messages(s.general) == []


@run_async
async def test_wrong_token_is_unauthorized() -> None:
    """A request with another token is a 401 and a violation."""
    async with scene() as s, _api(s.discord, token="nope") as api:
        async with api.get("users/@me") as response:
            assert response.status == 401
        assert _rules(s.discord) == ["unauthorized"]


@run_async
async def test_late_initial_response_is_refused() -> None:
    """Answering an interaction after 3 seconds (on the emulator's clock) gets "Unknown interaction"."""
    async with scene() as s, _api(s.discord) as api:
        interaction = await _command_interaction(s.discord, s.general, s.alice)
        s.discord.advance_clock(3.5)
        url = f"interactions/{interaction.id}/{interaction.token}/callback"
        async with api.post(url, json={"type": 4, "data": {"content": "pong"}}) as response:
            assert response.status == 404
            assert (await response.json())["code"] == 10062
        assert _rules(s.discord) == ["late_initial_response"]


@run_async
async def test_second_initial_response_is_refused() -> None:
    """An interaction can be acknowledged once; the second callback is a 400 "already acknowledged"."""
    async with scene() as s, _api(s.discord) as api:
        interaction = await _command_interaction(s.discord, s.general, s.alice)
        url = f"interactions/{interaction.id}/{interaction.token}/callback"
        async with api.post(url, json={"type": 4, "data": {"content": "one"}}) as response:
            assert response.status == 204
        async with api.post(url, json={"type": 4, "data": {"content": "two"}}) as response:
            assert (response.status, (await response.json())["code"]) == (400, 40060)
        assert _rules(s.discord) == ["already_acknowledged"]
        assert [m.content for m in s.discord.messages(s.general)] == ["one"]


@run_async
async def test_followups_work_for_15_minutes_then_the_token_expires() -> None:
    """Follow-ups succeed at 14 minutes and fail with "Invalid Webhook Token" after 15."""
    async with scene() as s, _api(s.discord) as api:
        interaction = await _command_interaction(s.discord, s.general, s.alice)
        async with api.post(f"interactions/{interaction.id}/{interaction.token}/callback", json={"type": 5}):
            pass
        webhook = f"webhooks/{s.discord.world.application_id}/{interaction.token}"
        s.discord.advance_clock(14 * 60)
        async with api.post(webhook, params={"wait": "true"}, json={"content": "done"}) as response:
            assert response.status == 200
        s.discord.advance_clock(61)
        async with api.post(webhook, json={"content": "late"}) as response:
            assert (response.status, (await response.json())["code"]) == (401, 50027)
        async with api.patch(f"{webhook}/messages/@original", json={"content": "late"}) as response:
            assert response.status == 401
        assert _rules(s.discord) == ["interaction_token_expired"] * 2
        assert [m.content for m in s.discord.messages(s.general)] == ["done"]


@run_async
async def test_followup_before_any_response_is_refused() -> None:
    """A follow-up sent before the initial callback is refused and recorded."""
    async with scene() as s, _api(s.discord) as api:
        interaction = await _command_interaction(s.discord, s.general, s.alice)
        async with api.post(f"webhooks/{s.discord.world.application_id}/{interaction.token}", json={"content": "x"}):
            pass
        assert _rules(s.discord) == ["followup_before_response"]
        await _answer(api, interaction)


@run_async
async def test_update_message_callback_edits_the_clicked_message() -> None:
    """Callback type 7 on a button click rewrites the message the button is on, keeping its attachments."""
    async with scene() as s, _api(s.discord) as api:
        form = _form({"content": "grid", "components": [{"type": 1, "components": [BUTTON]}]}, [("g.png", PNG)])
        async with api.post(f"channels/{s.general.id}/messages", data=form) as response:
            assert response.status == 200
        (grid,) = s.discord.messages(s.general)
        click = await s.discord.click(grid, "go", user=s.bob, wait=False)
        assert click.message is grid
        update = {"type": 7, "data": {"content": "picked", "components": []}}
        async with api.post(f"interactions/{click.id}/{click.token}/callback", json=update) as response:
            assert response.status == 204
        assert (grid.content, grid.components, len(grid.attachments)) == ("picked", [], 1)
        assert grid.edited_at is not None


@run_async
async def test_deferred_update_then_edit_original_edits_the_clicked_message() -> None:
    """After callback type 6, PATCH @original edits the message the button is on."""
    async with scene() as s, _api(s.discord) as api:
        async with api.post(f"channels/{s.general.id}/messages", json={"content": "grid", "components": _rows(1, 1)}):
            pass
        (grid,) = s.discord.messages(s.general)
        click = await s.discord.click(grid, grid.buttons[0]["custom_id"], user=s.alice, wait=False)
        async with api.post(f"interactions/{click.id}/{click.token}/callback", json={"type": 6}) as response:
            assert response.status == 204
        webhook = f"webhooks/{s.discord.world.application_id}/{click.token}/messages/@original"
        async with api.patch(webhook, json={"content": "working on it"}) as response:
            assert response.status == 200
        assert grid.content == "working on it"


@run_async
async def test_modal_callback_is_recorded() -> None:
    """Callback type 9 stores the modal the bot opened, for the test to inspect."""
    async with scene() as s, _api(s.discord) as api:
        interaction = await _command_interaction(s.discord, s.general, s.alice)
        text = {"type": 4, "custom_id": "prompt", "style": 2, "label": "Prompt"}
        modal = {"custom_id": "edit", "title": "Edit prompt", "components": [{"type": 1, "components": [text]}]}
        url = f"interactions/{interaction.id}/{interaction.token}/callback"
        async with api.post(url, json={"type": 9, "data": modal}) as response:
            assert response.status == 204, await response.text()
        assert interaction.modal is not None and interaction.modal["title"] == "Edit prompt"


@run_async
async def test_replies_edits_and_deletes_through_the_channel_api() -> None:
    """message_reference makes a reply, PATCH keeps only listed attachments, DELETE removes the message."""
    async with scene() as s, _api(s.discord) as api:
        question = await s.discord.say(s.general, s.alice, "draw me a fox")
        reply = {"content": "two foxes", "message_reference": {"message_id": str(question.id)}}
        form = _form(reply, [("a.png", PNG), ("b.png", PNG)])
        async with api.post(f"channels/{s.general.id}/messages", data=form) as response:
            created = await response.json()
        assert created["type"] == 19 and created["message_reference"]["message_id"] == str(question.id)
        keep = {"attachments": [{"id": created["attachments"][1]["id"]}]}
        url = f"channels/{s.general.id}/messages/{created['id']}"
        async with api.patch(url, json=keep) as response:
            assert [a["filename"] for a in (await response.json())["attachments"]] == ["b.png"]
        async with api.delete(url) as response:
            assert response.status == 204
        async with api.get(url) as response:
            assert response.status == 404
        assert s.discord.messages(s.general) == [question]
        missing = {"content": "x", "message_reference": {"message_id": "1"}}
        async with api.post(f"channels/{s.general.id}/messages", json=missing) as response:
            assert response.status == 400


@run_async
async def test_multipart_callback_and_original_get_and_delete() -> None:
    """A type 4 callback with a file works as multipart; @original can then be fetched and deleted."""
    async with scene() as s, _api(s.discord) as api:
        interaction = await _command_interaction(s.discord, s.general, s.alice)
        form = _form({"type": 4, "data": {"content": "here", "attachments": [{"id": 0, "filename": "x.png"}]}}, [])
        form.add_field("files[0]", PNG, filename="x.png", content_type="image/png")
        url = f"interactions/{interaction.id}/{interaction.token}/callback"
        async with api.post(url, data=form, params={"with_response": "true"}) as response:
            created = await response.json()
        assert created["resource"]["message"]["attachments"][0]["filename"] == "x.png"
        original = f"webhooks/{s.discord.world.application_id}/{interaction.token}/messages/@original"
        async with api.get(original) as response:
            assert (await response.json())["id"] == created["interaction"]["response_message_id"]
        async with api.delete(original) as response:
            assert response.status == 204
        assert s.discord.messages(s.general) == []


@run_async
async def test_unemulated_route_is_a_recorded_404() -> None:
    """A route the emulator lacks answers 404 and is recorded, so a test learns what is missing."""
    async with scene() as s, _api(s.discord) as api:
        async with api.get(f"guilds/{s.guild.id}/roles") as response:
            assert response.status == 404
        (violation,) = s.discord.pop_violations()
        assert violation.rule == "not_emulated" and "GET /guilds/" in violation.detail


@run_async
async def test_guild_commands_are_scoped_and_preferred() -> None:
    """Guild commands are listed per guild, and slash() uses the guild's version over a global one."""
    async with scene() as s, _api(s.discord) as api:
        app = s.discord.world.application_id
        command = {"name": "ping", "description": "p", "type": 1}
        async with api.put(f"applications/{app}/commands", json=[command]):
            pass
        async with api.put(f"applications/{app}/guilds/{s.guild.id}/commands", json=[command]) as response:
            (guild_command,) = await response.json()
        async with api.get(f"applications/{app}/guilds/{s.guild.id}/commands") as response:
            assert [c["id"] for c in await response.json()] == [guild_command["id"]]
        interaction = await s.discord.slash("ping", user=s.alice, channel=s.general, wait=False)
        assert interaction.data["id"] == guild_command["id"] and interaction.data["guild_id"] == str(s.guild.id)
        dm = await s.discord.slash("ping", user=s.alice, channel=s.discord.dm(s.alice), wait=False)
        assert dm.data["id"] != guild_command["id"] and "guild_id" not in dm.data
        for answered in (interaction, dm):
            await _answer(api, answered)


@run_async
async def test_an_interaction_never_answered_is_reported() -> None:
    """An interaction left without any response past its 3 seconds is a violation when the test ends."""
    async with scene() as s:
        await _command_interaction(s.discord, s.general, s.alice)
        s.discord.check_unanswered()
        assert s.discord.pop_violations() == []  # still within its 3 seconds
        s.discord.advance_clock(3.1)
        s.discord.check_unanswered()
        assert _rules(s.discord) == ["no_initial_response"]


@run_async
async def test_a_repeated_nonce_returns_the_first_message_within_the_window() -> None:
    """enforce_nonce: a repeat within NONCE_WINDOW_S creates nothing and returns the first message; later it posts."""
    from sandbox.rules import NONCE_WINDOW_S

    async with scene() as s, _api(s.discord) as api:
        body = {"content": "once", "nonce": "job-1", "enforce_nonce": True}
        async with api.post(f"channels/{s.general.id}/messages", json=body) as response:
            first = await response.json()
        assert first["nonce"] == "job-1"
        async with api.post(f"channels/{s.general.id}/messages", json={**body, "content": "again"}) as response:
            assert response.status == 200 and (await response.json())["id"] == first["id"]
        async with api.post(f"channels/{s.general.id}/messages", json={**body, "enforce_nonce": False}) as response:
            assert (await response.json())["id"] != first["id"]  # without enforce_nonce Discord posts again
        s.discord.advance_clock(NONCE_WINDOW_S + 1)
        async with api.post(f"channels/{s.general.id}/messages", json=body) as response:
            assert (await response.json())["id"] != first["id"]
        assert [m.content for m in s.discord.messages(s.general)] == ["once", "once", "once"]


@run_async
async def test_history_after_starts_right_after_the_given_message() -> None:
    """GET messages?after=: the oldest `limit` messages after the id, newest first (as Discord pages forward)."""
    async with scene() as s, _api(s.discord) as api:
        posted = [await s.discord.say(s.general, s.alice, str(n)) for n in range(5)]
        async with api.get(f"channels/{s.general.id}/messages", params={"after": posted[0].id, "limit": 2}) as got:
            assert [m["content"] for m in await got.json()] == ["2", "1"]
        async with api.get(f"channels/{s.general.id}/messages", params={"limit": 2}) as got:
            assert [m["content"] for m in await got.json()] == ["4", "3"]

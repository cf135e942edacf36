"""The test-facing side of the emulator: people who type slash commands, click buttons and read channels.

    async with Sandbox() as discord:
        alice = discord.add_user("alice")
        guild = discord.add_guild("home", members=[alice])
        ...start a bot against discord.api_url / discord.gateway_url...
        await discord.slash("imagine", prompt="a fox", user=alice, channel=guild.channel("general"))
        reply = await discord.wait_for_message(guild.channel("general"), lambda m: m.attachments)

Leaving the block cleanly asserts the bot broke none of Discord's rules; a test that expects a violation takes it
with `pop_violations()` first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from sandbox.app import Emulator
from sandbox.middleware import RequestRecord
from sandbox.models import Channel, Command, Guild, Interaction, InteractionType, Message, User, iter_components
from sandbox.options import build_options
from sandbox.rules import INITIAL_RESPONSE_DEADLINE_S, Rule, Violation

log = logging.getLogger(__name__)


class Sandbox:
    """An emulated Discord running on 127.0.0.1, and the API a test drives it with."""

    def __init__(self, *, spec_path: Path | None = None, validate: bool = True, bot_token: str | None = None) -> None:
        self.emulator = Emulator(spec_path=spec_path, validate=validate, bot_token=bot_token)
        self.world = self.emulator.world

    # lifecycle

    async def start(self) -> Sandbox:
        """Start serving on an ephemeral port."""
        await self.emulator.start()
        return self

    async def stop(self) -> None:
        """Stop serving."""
        await self.emulator.stop()

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop()
        if kind is None:
            self.check_unanswered()
            self.assert_no_violations()

    @property
    def bot_token(self) -> str:
        """The token the bot must log in with."""
        return self.world.bot_token

    @property
    def base_url(self) -> str:
        """The emulator's root URL; `sandbox.connect.point_discord_py_at` takes this."""
        return self.emulator.base_url

    @property
    def bot(self) -> User:
        """The bot's user."""
        return self.world.bot

    # people and places

    def add_user(self, username: str) -> User:
        """A new human user."""
        return self.world.add_user(username)

    def add_guild(self, name: str, *, channels: Iterable[str] = ("general",), members: Iterable[User] = ()) -> Guild:
        """A new guild with these text channels and members (the bot joins every guild)."""
        guild = self.world.add_guild(name, tuple(channels))
        for user in members:
            self.world.add_member(guild, user)
        self.world.announce_guild(guild)
        return guild

    def dm(self, user: User) -> Channel:
        """The DM channel between `user` and the bot."""
        return self.world.dm_channel(user)

    # what people do

    async def wait_for_bot(self, timeout: float = 10.0) -> None:
        """Wait until a bot has identified and is connected to the gateway."""
        await self._wait(lambda: self.emulator.gateway.connected, timeout, "no bot connected to the gateway")

    async def slash(
        self, command: str, *, user: User, channel: Channel, wait: bool = True, timeout: float = 5.0, **options: Any
    ) -> Interaction:
        """`user` runs `/command` (a subcommand as "group sub") in `channel` with these options.

        Raises LookupError when the bot has not synced such a command, TypeError for options it does not declare,
        and (with `wait`) TimeoutError when the bot does not answer the interaction within `timeout`.
        """
        self._check_can_see(user, channel)
        names = command.split()
        found = self._find_command(names[0], channel)
        data: dict[str, Any] = {"id": str(found.id), "name": found.name, "type": found.type}
        if found.guild_id is not None:
            data["guild_id"] = str(found.guild_id)
        resolved: dict[str, Any] = {}
        data["options"] = build_options(found.spec.get("options") or [], names[1:], options, resolved, command)
        if resolved:
            data["resolved"] = resolved
        interaction = self.world.start_interaction(InteractionType.APPLICATION_COMMAND, user, channel, data)
        if wait:
            await self.wait_for_response(interaction, timeout)
        return interaction

    async def click(
        self, message: Message, button: str, *, user: User, wait: bool = True, timeout: float = 5.0
    ) -> Interaction:
        """`user` clicks the button labelled `button` (or with that custom_id) on `message`.

        Raises KeyError when there is no such button, ValueError when it is disabled or a link, and (with `wait`)
        TimeoutError when the bot does not answer within `timeout`.
        """
        channel = self.world.channels[message.channel_id]
        self._check_can_see(user, channel)
        if message.deleted:
            raise ValueError(f"message {message.id} was deleted")
        if message.ephemeral and (message.interaction is None or message.interaction.user is not user):
            raise ValueError(f"{user.username} cannot see ephemeral message {message.id}")
        target = message.button(button)
        if target.get("disabled"):
            raise ValueError(f"button {button!r} on message {message.id} is disabled")
        if "custom_id" not in target:
            raise ValueError(f"button {button!r} is a link button; clicking it opens a URL, not an interaction")
        data = {"custom_id": target["custom_id"], "component_type": 2}
        interaction = self.world.start_interaction(InteractionType.MESSAGE_COMPONENT, user, channel, data, message)
        if wait:
            await self.wait_for_response(interaction, timeout)
        return interaction

    async def select(
        self,
        message: Message,
        custom_id: str,
        values: list[str],
        *,
        user: User,
        wait: bool = True,
        timeout: float = 5.0,
    ) -> Interaction:
        """`user` picks `values` in the string select menu `custom_id` on `message`.

        Raises KeyError when there is no such select, ValueError for a disabled select, values it does not offer
        or a count outside its min/max, and (with `wait`) TimeoutError when the bot does not answer in time.
        """
        channel = self.world.channels[message.channel_id]
        self._check_can_see(user, channel)
        menu = next((c for c in iter_components(message.components) if c.get("custom_id") == custom_id), None)
        if menu is None or menu.get("type") != 3:
            raise KeyError(f"message {message.id} has no string select {custom_id!r}")
        offered = {option["value"] for option in menu.get("options") or []}
        low, high = menu.get("min_values", 1), menu.get("max_values", 1)
        if menu.get("disabled") or set(values) - offered or not low <= len(values) <= high:
            raise ValueError(f"cannot pick {values} in select {custom_id!r} (offers {sorted(offered)}, {low}-{high})")
        data = {"custom_id": custom_id, "component_type": 3, "values": list(values)}
        interaction = self.world.start_interaction(InteractionType.MESSAGE_COMPONENT, user, channel, data, message)
        if wait:
            await self.wait_for_response(interaction, timeout)
        return interaction

    async def submit_modal(
        self, opened_by: Interaction, values: dict[str, str], *, wait: bool = True, timeout: float = 5.0
    ) -> Interaction:
        """The user who saw the bot's modal fills in text inputs (by custom_id) and submits it.

        Raises ValueError when the bot opened no modal for `opened_by`, KeyError for a text input it does not have.
        """
        if opened_by.modal is None:
            raise ValueError(f"the bot answered {opened_by} without opening a modal")
        components = [_filled(c, values) for c in opened_by.modal.get("components") or []]
        unknown = set(values) - {c.get("custom_id") for c in iter_components(opened_by.modal["components"])}
        unknown -= {(c.get("component") or {}).get("custom_id") for c in opened_by.modal["components"]}
        if unknown:
            raise KeyError(f"the modal has no text inputs {sorted(unknown)}")
        data = {"custom_id": opened_by.modal["custom_id"], "components": components}
        kind = InteractionType.MODAL_SUBMIT
        interaction = self.world.start_interaction(kind, opened_by.user, opened_by.channel, data, opened_by.message)
        if wait:
            await self.wait_for_response(interaction, timeout)
        return interaction

    async def say(self, channel: Channel, user: User, content: str) -> Message:
        """`user` posts a plain message in `channel`."""
        self._check_can_see(user, channel)
        return self.world.post_message(channel, user, content=content)

    # what people see

    def messages(self, channel: Channel, *, viewer: User | None = None) -> list[Message]:
        """The channel's messages, oldest first; ephemeral ones only when `viewer` is the user they are for."""
        return [m for m in self.world.messages[channel.id] if _visible(m, viewer)]

    async def wait_for_message(
        self,
        channel: Channel,
        predicate: Callable[[Message], Any] | None = None,
        *,
        timeout: float = 5.0,
        viewer: User | None = None,
    ) -> Message:
        """The first message in `channel` (that `viewer` can see) matching `predicate`, waiting up to `timeout`.

        A deferred response counts once its "thinking…" placeholder has been filled in.
        """

        def match() -> Message | None:
            for message in self.messages(channel, viewer=viewer):
                if not message.loading and (predicate is None or predicate(message)):
                    return message
            return None

        return await self._wait(match, timeout, f"no matching message in {channel}")

    async def wait_for_response(self, interaction: Interaction, timeout: float = 5.0) -> Interaction:
        """Wait until the bot has sent the interaction's initial callback."""
        await self._wait(lambda: interaction.responded, timeout, f"the bot never answered {interaction}")
        return interaction

    async def wait_for_original(
        self, interaction: Interaction, predicate: Callable[[Message], Any] | None = None, *, timeout: float = 5.0
    ) -> Message:
        """The interaction's response message once it is no longer "thinking…" and matches `predicate`."""

        def match() -> Message | None:
            message = interaction.original
            if message is None or message.loading or (predicate is not None and not predicate(message)):
                return None
            return message

        return await self._wait(match, timeout, f"no finished response to {interaction}")

    async def _wait(self, condition: Callable[[], Any], timeout: float, what: str) -> Any:
        try:
            return await self.world.wait_until(condition, timeout)
        except TimeoutError:
            broken = list(self.emulator.violations)
            raise TimeoutError(f"{what} within {timeout}s; violations so far: {broken}") from None

    # test controls

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward, e.g. past an interaction token's 15 minutes."""
        self.world.clock.advance(seconds)

    def force_rate_limit(self, route: str | None = None, *, retry_after: float = 0.25, is_global: bool = False) -> None:
        """Answer the next request for `route` (e.g. "POST /channels/{channel_id}/messages"; None: any) with 429."""
        self.emulator.force_rate_limit(route, retry_after=retry_after, is_global=is_global)

    def force_error(
        self,
        route: str | None,
        *,
        status: int = 400,
        code: int = 50035,
        message: str = "Invalid Form Body",
    ) -> None:
        """Answer the next request for `route` (e.g. "POST /interactions/{interaction_id}/{interaction_token}/callback";
        None: any) with this error, as Discord refuses a request, without serving it."""
        self.emulator.force_error(route, status, code, message)

    async def drop_gateway(self) -> None:
        """Cut the bot's gateway connection as a network failure would; it should RESUME."""
        await self.emulator.gateway.drop()

    @property
    def requests(self) -> list[RequestRecord]:
        """The REST requests served so far (the latest 10,000)."""
        return list(self.emulator.traffic.requests)

    def pop_violations(self) -> list[Violation]:
        """The rule violations recorded so far, clearing them (for tests that provoke one on purpose)."""
        return self.emulator.violations.pop_all()

    def check_unanswered(self) -> None:
        """Record a violation for each interaction the bot never answered although its 3 seconds are up."""
        now = self.world.clock.now()
        for interaction in self.world.interactions.values():
            overdue = now - interaction.created_at > INITIAL_RESPONSE_DEADLINE_S
            if overdue and not interaction.responded and not interaction.refused_late:
                detail = f"{interaction} got no response (the user saw 'The application did not respond')"
                self.emulator.violations.add(Violation(Rule.NO_RESPONSE, detail))
                interaction.refused_late = True  # report each one once

    def assert_no_violations(self) -> None:
        """Raise AssertionError listing every rule the bot broke."""
        found = list(self.emulator.violations)
        if found:
            raise AssertionError("the bot broke Discord's rules:\n" + "\n".join(f"  {v}" for v in found))

    # helpers

    def _check_can_see(self, user: User, channel: Channel) -> None:
        guild = self.world.guild_of(channel)
        if guild is not None and user not in guild.members:
            raise ValueError(f"{user.username} is not a member of {guild.name}")
        if guild is None and channel.recipient is not user:
            raise ValueError(f"{user.username} is not in DM channel {channel.id}")

    def _find_command(self, name: str, channel: Channel) -> Command:
        guild = self.world.guild_of(channel)
        commands = self.world.commands.values()
        for scope in ([guild.id] if guild else []) + [None]:
            for command in commands:
                if command.name == name and command.guild_id == scope and command.type == 1:
                    return command
        synced = sorted({c.name for c in commands})
        raise LookupError(f"no slash command /{name} synced for {channel}; synced: {synced}")


def _visible(message: Message, viewer: User | None) -> bool:
    if not message.ephemeral:
        return True
    return viewer is not None and message.interaction is not None and message.interaction.user is viewer


def _filled(component: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """A modal component as submitted: rows and labels keep their shape, text inputs carry their values."""
    if component.get("type") == 1:
        return {"type": 1, "components": [_filled(c, values) for c in component.get("components") or []]}
    if component.get("type") == 18:
        return {"type": 18, "component": _filled(component["component"], values)}
    custom_id = component.get("custom_id")
    value = values.get(custom_id, "") if isinstance(custom_id, str) else ""
    return {"type": component.get("type"), "custom_id": custom_id, "value": value}

"""Helpers for fault tests that run the real bot (tests/e2e/stack.py) and make it fail at a chosen moment."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

from sandbox.models import Message
from tests.e2e.stack import Stack, labels


def is_result(message: Message, prompt: str) -> bool:
    """A result grid for the prompt (its U1 button marks it)."""
    return prompt in message.content and "U1" in labels(message)


def results(stack: Stack, prompt: str) -> list[Message]:
    """The channel's result messages for a prompt (call inside ``stack.wait`` or through ``stack.run``)."""
    return [m for m in stack.discord.messages(stack.channel) if is_result(m, prompt)]


class KillBotOn:
    """SIGKILLs the bot the moment the emulator announces a gateway event matching ``matches(name, data)``, once.

    The emulator announces a message while serving the request that creates it, before it answers: the bot dies
    after Discord accepted the post and before it hears so.
    """

    def __init__(self, stack: Stack, matches: Callable[[str, dict[str, Any]], bool]):
        self.matches = matches
        self.fired = False
        proc = stack.bot.proc
        assert proc is not None, "the bot is not running"
        self.pid = proc.pid
        stack.discord.world.subscribe(self._listen)

    def _listen(self, name: str, data: dict[str, Any]) -> None:
        if not self.fired and self.matches(name, data):
            self.fired = True
            os.kill(self.pid, signal.SIGKILL)

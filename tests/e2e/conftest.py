"""One end-to-end stack (emulator, Redis, worker process, bot process) shared by a test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.stack import Stack


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    s = Stack()
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture(autouse=True)
def no_violations(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test: every request the bot sent followed Discord's rules and validated against the OpenAPI spec."""
    yield
    if "stack" in request.fixturenames:
        s: Stack = request.getfixturevalue("stack")
        broken = s.discord.pop_violations()
        assert not broken, f"the bot broke Discord's rules: {broken}\n{s.bot.output()[-3000:]}"

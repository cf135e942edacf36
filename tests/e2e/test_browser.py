"""The zero-setup experience, whole: ``imagine run`` without a token, a person in a browser, the real bot and worker.

``imagine run`` starts Redis, the sandbox with its page, a worker (the bundled demo model, 2 steps) and the bot;
headless Chromium types /imagine, waits for the grid, clicks U1, sees the upscaled picture and picks a /settings
value in a select menu; Ctrl-C stops it all. Its terminal is the quiet one (tests/cli/test_run.py checks every line).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.running import Running
from tests.sandbox.web_harness import browser, browser_missing
from worker.embedded_redis import free_port

pytestmark = [pytest.mark.slow, pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    stack = Running(tmp_path, free_port())
    try:
        yield stack
    finally:
        stack.close()  # the test failed before its own Ctrl-C: stop the children all the same


def test_imagine_run_in_a_browser_then_ctrl_c(running: Running) -> None:
    """A person opens the printed URL, runs /imagine, upscales with U1, picks a /settings value; Ctrl-C stops all."""
    url = running.wait_for_line(r"Open (http://\S+)", 60)[1]
    running.wait_for_line(r"\[bot\]\s+ready: logged in as", 60)
    running.wait_for_line(r"\[worker\]\s+ready: ", 120)
    asyncio.run(asyncio.wait_for(_use_the_page(url), timeout=240))
    assert running.ctrl_c() == 0, running.output()[-3000:]
    out = running.output()
    assert "imagine run: stopping" in out
    # Each part stopped when asked (not killed), in order: the bot, the worker, the sandbox, Redis last.
    stopped = [line.split("]")[0][1:] for line in running.lines if re.fullmatch(r"\[\w+\]\s+stopped", line)]
    assert stopped == ["bot", "worker", "sandbox", "redis"], out[-3000:]
    assert re.search(r'\[bot\]\s+job [0-9a-f]{8}: upscale "a lighthouse at dusk" by \w+: queued → done', out)


async def _use_the_page(url: str) -> None:
    async with browser() as page:
        await page.goto(url)
        await page.wait_for_selector(".bot-status:not(.offline)", timeout=30_000)
        await page.fill("#input", "/imagine a lighthouse at dusk")
        await page.press("#input", "Enter")
        grid = page.locator("article", has=page.locator("button", has_text="U1")).last
        await grid.locator("img.attachment").wait_for(timeout=120_000)
        assert "a lighthouse at dusk" in await grid.locator(".content").inner_text()
        await grid.locator("button", has_text="U1").click()
        upscaled = page.locator("article", has=page.locator("button", has_text="Upscale (Subtle)")).last
        await upscaled.locator("img.attachment").wait_for(timeout=120_000)
        await page.fill("#input", "/settings")
        await page.press("#input", "Enter")
        panel = page.locator("article.ephemeral", has=page.locator("select.menu"))
        await panel.locator("select.menu").first.select_option("250")  # a select-menu interaction (type 3)
        await panel.locator(".field-value", has_text="250").wait_for(timeout=10_000)
        assert await page.locator(".toast").count() == 0, await page.locator(".toasts").inner_text()
        assert await page.locator("#violations.hidden").count() == 1, await page.locator("#violations").inner_text()
        if shots := os.environ.get("IMAGINE_SCREENSHOT_DIR"):  # to look at the page as a person saw it
            await page.screenshot(path=str(Path(shots) / "imagine-run.png"))

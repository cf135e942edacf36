"""The zero-setup experience, whole: ``imagine run`` without a token, a person in a browser, the real bot and worker.

``imagine run`` starts Redis, the sandbox with its page, a worker (the bundled demo model, 2 steps) and the bot;
headless Chromium types /imagine, waits for the grid, clicks U1, sees the upscaled picture and picks a /settings
value in a select menu; Ctrl-C stops it all.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox.web_harness import browser, browser_missing
from worker.embedded_redis import free_port

pytestmark = [pytest.mark.slow, pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")]

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "IMAGINE_STEPS": "2",
    "IMAGINE_DEVICE": "cpu",
    "IMAGINE_PREVIEW_EVERY": "1",
    "IMAGINE_PROGRESS_EDIT_INTERVAL_S": "0",
}


class Running:
    """``imagine run`` as a subprocess, its output collected line by line."""

    def __init__(self, data_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_") and k != "DISCORD_TOKEN"}
        env.update(TINY, PYTHONPATH=str(REPO))
        args = [sys.executable, "-m", "cli", "run", "--port", str(port), "--data-dir", str(data_dir), "--grace", "5"]
        # cwd: a directory without a .env, so a developer's real token cannot switch the test to Discord.
        self.process = subprocess.Popen(
            args, cwd=data_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first output line matching `pattern`; fails with the output so far after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := re.search(pattern, line):
                    return found
            assert self.process.poll() is None, f"imagine run exited early:\n{self.output()[-4000:]}"
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s:\n{self.output()[-4000:]}")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    stack = Running(tmp_path, free_port())
    try:
        yield stack
    finally:
        if stack.process.poll() is None:  # the test failed before its own Ctrl-C: stop the children all the same
            stack.process.send_signal(signal.SIGINT)
            try:
                stack.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stack.process.kill()
                stack.process.wait()


def test_imagine_run_in_a_browser_then_ctrl_c(running: Running) -> None:
    """A person opens the printed URL, runs /imagine, upscales with U1, picks a /settings value; Ctrl-C stops all."""
    url = running.wait_for_line(r"Open (http://\S+)", 60)[1]
    running.wait_for_line(r"\[bot\].*logged in as", 60)
    running.wait_for_line(r"\[worker\].*Listening on", 120)
    asyncio.run(asyncio.wait_for(_use_the_page(url), timeout=240))
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=60) == 0, running.output()[-3000:]
    out = running.output()
    assert "imagine run: stopping" in out
    assert re.search(r"\[worker\].*warm shut down", out), out[-3000:]
    assert re.search(r"\[redis\].*(ready to exit|bye)", out, re.IGNORECASE), out[-3000:]


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

"""``imagine run`` as a subprocess (the bundled demo model, 2 steps, on the CPU), and its page driven over HTTP.

Shared by the terminal-output tests (tests/cli/test_run_output.py) and the browser test (tests/e2e/test_browser.py).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "IMAGINE_STEPS": "2",
    "IMAGINE_DEVICE": "cpu",
    "IMAGINE_PREVIEW_EVERY": "1",
    "IMAGINE_PROGRESS_EDIT_INTERVAL_S": "0",
}


class Running:
    """``imagine run`` as a subprocess, its output collected line by line."""

    def __init__(self, data_dir: Path, port: int, *extra: str, env: dict[str, str] | None = None) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_") and k != "DISCORD_TOKEN"}
        environ.pop("TQDM_DISABLE", None)  # progress bars are for the parts' logging setup to hide (cli/logs.py)
        environ.update(TINY, PYTHONPATH=str(REPO), **(env or {}))
        args = [sys.executable, "-m", "cli", "run", "--port", str(port), "--data-dir", str(data_dir), "--grace", "5"]
        # cwd: a directory without a .env, so a developer's real token cannot switch the test to Discord.
        self.process = subprocess.Popen(
            [*args, *extra], cwd=data_dir, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
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

    def ctrl_c(self, timeout: float = 60) -> int:
        """Ctrl-C, as a person stops it; its exit status (the output is complete afterwards)."""
        self.process.send_signal(signal.SIGINT)
        status = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return status

    def close(self) -> None:
        """Stop it if a test failed before its own Ctrl-C."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def send(url: str, user: str, channel: str, text: str) -> dict[str, Any]:
    """``user`` types ``text`` in ``#channel`` on the page at ``url`` (POST /api/send); the page's answer."""
    async with aiohttp.ClientSession() as http:
        people = await _snapshot(http, url, {}, "users")
        user_id = next(u["id"] for u in people["users"] if u["name"] == user)
        places = await _snapshot(http, url, {"user_id": user_id}, "channels")
        channel_id = next(c["id"] for c in places["channels"] if c["name"] == channel)
        body = {"user_id": user_id, "channel_id": channel_id, "text": text}
        async with http.post(f"{url}/api/send", json=body) as response:
            answer: dict[str, Any] = await response.json()
            return answer


async def _snapshot(http: aiohttp.ClientSession, url: str, watch: dict[str, str], wanted: str) -> dict[str, Any]:
    """The first snapshot the page pushes for ``watch`` (who looks, at which channel) with ``wanted`` filled in."""
    async with http.ws_connect(f"{url}/api/ws") as ws:
        await ws.send_str(json.dumps(watch))
        while True:
            snapshot: dict[str, Any] = json.loads((await ws.receive(timeout=10)).data)
            if snapshot[wanted]:
                return snapshot

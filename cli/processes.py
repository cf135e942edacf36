"""Child processes for ``imagine run``: started in their own sessions, output prefixed line by line, stopped in order.

Each child runs in a new session, so a Ctrl-C in the terminal reaches only ``imagine run``, which then stops the
children in a chosen order (the bot before the worker, Redis last) instead of all at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

log = logging.getLogger(__name__)

COLOURS = {"redis": "31", "worker": "33", "bot": "35", "sandbox": "36"}  # ANSI: red, yellow, magenta, cyan


@dataclass
class ChildSpec:
    """A part of the stack: its name (the log prefix), its command line and its environment."""

    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)


class PrefixedOutput:
    """Writes whole lines as ``[name] line`` to one stream, from many threads."""

    def __init__(self, stream: TextIO | None = None, *, colour: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self.width = max(len(name) for name in COLOURS) + 2
        self._lock = threading.Lock()

    def write(self, name: str, line: str) -> None:
        """Write one line under `name`'s prefix."""
        prefix = f"[{name}]".ljust(self.width)
        if self.colour:
            prefix = f"\033[{COLOURS.get(name, '37')}m{prefix}\033[0m"
        with self._lock:
            self.stream.write(f"{prefix} {line.rstrip()}\n")
            self.stream.flush()


class Child:
    """One running child process whose stdout and stderr are pumped through a PrefixedOutput by a thread."""

    def __init__(
        self,
        spec: ChildSpec,
        output: PrefixedOutput,
        on_line: Callable[[str], None] | None = None,
        *,
        shown: Callable[[str], bool] | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self._output = output
        self._on_line = on_line  # sees every line
        self._shown = shown  # which lines are written (default: all)
        # Unbuffered: a Python child's log lines should show as they happen, not when a buffer fills.
        env = {**spec.env, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            spec.args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._pump = threading.Thread(target=self._read, name=f"output-{spec.name}", daemon=True)
        self._pump.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in iter(self.process.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            if self._shown is None or self._shown(line):
                self._output.write(self.name, line)
            if self._on_line is not None:
                self._on_line(line)
        self.process.stdout.close()

    @property
    def running(self) -> bool:
        """Whether the process has not exited yet."""
        return self.process.poll() is None

    def terminate(self) -> None:
        """Ask the child to stop (SIGTERM), if it still runs; it stops what it started itself, in its own way."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the child to exit; returns whether it did."""
        try:
            self.process.wait(timeout=max(timeout, 0))
        except subprocess.TimeoutExpired:
            return False
        self._pump.join(timeout=2)  # let its last lines out before anything else is printed
        return True

    def kill_now(self) -> None:
        """SIGKILL the child's process group without waiting (safe in a signal handler)."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def kill(self) -> None:
        """Kill the child and anything it started (its whole process group), and reap it."""
        self.kill_now()
        self.process.wait()
        self._pump.join(timeout=2)


def stop_in_order(children: Sequence[Child], grace: float, output: PrefixedOutput) -> None:
    """Stop children one after another (SIGTERM, then SIGKILL after `grace` seconds each)."""
    for child in children:
        if not child.running:
            continue
        child.terminate()
        if child.wait(grace):
            status = child.process.returncode  # -SIGTERM: it let the signal end it, as asked
            output.write(child.name, "stopped" if status in (0, -signal.SIGTERM) else f"stopped (status {status})")
        else:
            output.write(child.name, f"did not stop within {grace:g}s; killing it")
            child.kill()


def wait_until(condition: Callable[[], bool], timeout: float, children: Sequence[Child], what: str) -> None:
    """Poll `condition` until true; raises RuntimeError when a child exits first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        for child in children:
            if not child.running:
                raise RuntimeError(f"{child.name} exited (status {child.process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(0.1)

"""The queue protocol modules the bot imports stay light."""

from __future__ import annotations

import json
import subprocess
import sys

LIGHT = (
    "worker.keys",
    "worker.settings",
    "worker.queue",
    "worker.events",
    "worker.store",
    "worker.limits",
    "worker.images",
    "worker.cards",
    "worker.fleet",
    "worker.engine",
)
HEAVY = ("torch", "diffusers", "transformers", "models", "worker.tasks", "worker.process", "worker.sources")


def test_protocol_modules_load_no_engine_or_worker_runtime() -> None:
    """A fresh interpreter importing the bot-facing queue modules loads no torch, engine or worker runtime."""
    probe = f"import importlib, json, sys\nfor m in {LIGHT!r}: importlib.import_module(m)\n"
    probe += "print(json.dumps(sorted(sys.modules)))"
    loaded = set(
        json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
    )
    assert not [m for m in HEAVY if m in loaded]
    assert set(LIGHT) <= loaded

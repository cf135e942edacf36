"""The bot never loads the diffusion side: importing every bot module keeps torch out of the process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

FORBIDDEN = ("torch", "diffusers", "transformers", "accelerate", "models")

_PROBE = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    import bot, worker.spec, worker.sizes
    names = [m.name for m in pkgutil.walk_packages(bot.__path__, "bot.")]
    for name in names:
        importlib.import_module(name)
    loaded = sorted({m.split(".")[0] for m in sys.modules})
    print(json.dumps({"modules": names, "loaded": loaded}))
    """
)


def _probe() -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_bot_modules_never_import_torch_or_models():
    """A fresh interpreter that imports every bot module has no torch, diffusers, transformers or models."""
    result = _probe()
    leaked = [name for name in FORBIDDEN if name in result["loaded"]]
    assert not leaked, f"bot imports {leaked} (directly or transitively)"


def test_probe_sees_the_bot_modules():
    """The probe really walks the bot package (a probe that imports nothing would prove nothing)."""
    result = _probe()
    assert {"bot.prompt", "bot.client", "bot.delivery", "bot.buttons"} <= set(result["modules"])
    assert {"discord", "redis", "rq", "pydantic"} <= set(result["loaded"])

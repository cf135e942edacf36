"""Bad images get a clear message and exit 2 from the CLI, and a clear failure in the worker (issue 14, defect 9).

Each is refused from its header, before it is decoded and before the model loads: the CLI runs with a model that
cannot load, so reaching the model would exit 1 instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from PIL import Image

from tests.faults.crafted import black_png, truncated_png
from tests.worker import fakes
from tests.worker.helpers import drain, make_spec
from worker.events import EventLog
from worker.queue import JobQueue
from worker.settings import QueueSettings
from worker.spec import JobKind, Parent, Strength
from worker.store import open_store

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
# Python, the CLI's light imports and the check; loading a model (torch alone) takes longer than this.
QUICK_S = 8.0


def _imagine(*args: str) -> tuple[int, str, float]:
    """Run ``imagine ARGS`` in a fresh process; returns its status, its stderr and how long it took."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_")}
    env.update(PYTHONPATH=str(REPO), IMAGINE_MODEL="/nonexistent/imagine-model", HF_HUB_OFFLINE="1")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=REPO, env=env, capture_output=True, text=True)
    return done.returncode, done.stderr, time.monotonic() - started


def _refused(tmp_path: Path, command: list[str], image: bytes, name: str = "input.png") -> str:
    """Run a command on ``image``: exit 2, no traceback, no model, quickly, nothing written; returns stderr."""
    path = tmp_path / name
    path.write_bytes(image)
    status, err, seconds = _imagine(command[0], str(path), *command[1:], "-o", str(tmp_path / "out"))
    assert status == 2, err
    assert "Traceback" not in err and "Warning" not in err, err
    assert "cannot load the model" not in err, err  # it never got as far as the model
    assert seconds < QUICK_S, f"took {seconds:.1f} s"
    assert not (tmp_path / "out").exists()
    assert err.startswith(f"imagine {command[0]}: {path}: The image "), err
    return err


def test_decompression_bomb(tmp_path: Path) -> None:
    """A 31 KB PNG declaring 16000×16000 (over PIL's own bomb limit) is refused, not a PIL traceback."""
    err = _refused(tmp_path, ["vary", "--strong"], black_png(16000, 16000))
    assert "megapixels" in err


def test_huge_declared_size_is_not_decoded(tmp_path: Path) -> None:
    """A 17 KB PNG of 12000×12000 is refused from its header in a moment, not decoded for a minute."""
    err = _refused(tmp_path, ["vary", "--subtle"], black_png(12000, 12000))
    assert "12000×12000" in err and "8192" in err


@pytest.mark.parametrize("side", [1, 7])
def test_too_small_for_upscale(tmp_path: Path, side: int) -> None:
    """A 1×1 or 7×7 image to upscale is refused before the model loads, not a pydantic traceback after it."""
    buffer = tmp_path / "tiny.png"
    Image.new("RGB", (side, side), "red").save(buffer)
    err = _refused(tmp_path, ["upscale"], buffer.read_bytes())
    assert f"{side}×{side}" in err and "at least 8 pixels" in err


def test_not_an_image(tmp_path: Path) -> None:
    """A text file named .png is refused as not a PNG, JPEG or WebP file."""
    err = _refused(tmp_path, ["vary", "--strong"], b"hello, not a picture\n")
    assert "not a PNG, JPEG or WebP" in err


def test_other_formats_are_refused(tmp_path: Path) -> None:
    """A GIF is refused by the format allow-list, without being parsed further."""
    gif = tmp_path / "source.gif"
    Image.new("RGB", (64, 64), "red").save(gif)
    err = _refused(tmp_path, ["upscale"], gif.read_bytes(), name="other.gif")
    assert "not a PNG, JPEG or WebP" in err


def test_truncated_image(tmp_path: Path) -> None:
    """A PNG cut off inside its pixel data is refused as damaged."""
    err = _refused(tmp_path, ["upscale"], truncated_png())
    assert "truncated or damaged" in err


def test_missing_file(tmp_path: Path) -> None:
    """A path with no file says so, exit 2."""
    status, err, _ = _imagine("vary", str(tmp_path / "nowhere.png"), "--strong")
    assert status == 2 and "Traceback" not in err
    assert "No such file" in err, err


def test_worker_refuses_a_bomb_source(settings: QueueSettings, connection: redis.Redis) -> None:
    """A follow-up whose stored source is a 12000×12000 bomb fails clearly and fast, the engine never run."""
    queue = JobQueue(connection, settings)
    parent = make_spec(seed=3)
    queue.enqueue(parent)
    drain(settings)
    open_store(settings, connection).put(parent.id, "2.png", black_png(12000, 12000))
    child = make_spec(kind=JobKind.VARIATION, parent=Parent(job_id=parent.id, index=2), strength=Strength.STRONG)
    queue.enqueue(child)
    engine = fakes.FakeEngine()
    started = time.monotonic()
    drain(settings, engine=engine)
    assert time.monotonic() - started < QUICK_S
    assert engine.runs == []
    outcome = EventLog(connection).outcome(child.id)
    assert outcome is not None and outcome["status"] == "failed", outcome
    assert outcome["reason"].startswith("The image is 12000×12000 pixels"), outcome
    assert outcome["code"] == "bad_input", outcome

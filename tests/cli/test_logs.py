"""cli/logs.py: what each verbosity shows, the noise it hides, and RQ's success lines kept at DEBUG."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli import logs
from cli.logs import Verbosity

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger tree ``t`` writing through a fresh quiet handler; the noisy loggers' filters restored after."""
    monkeypatch.delenv(logs.ENV, raising=False)
    monkeypatch.setenv("TQDM_DISABLE", "1")  # setup() sets it when unset; keep the test process as it was
    stream = io.StringIO()
    logger = logging.getLogger("t")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(logs.handler(Verbosity.QUIET, stream))
    noisy = {name: list(logging.getLogger(name).filters) for name in [*logs.NOISE, "rq.worker"]}
    yield logger, stream
    logger.handlers.clear()
    for name, filters in noisy.items():
        logging.getLogger(name).filters[:] = filters


def test_quiet_shows_headlines_and_real_warnings(captured: tuple[logging.Logger, io.StringIO]) -> None:
    """Quiet: a headline as its bare message, a warning with its level and logger, other INFO not at all."""
    logger, stream = captured
    logger.info("ready: model demo on cpu", extra={logs.HEADLINE: True})
    logger.info("cleaning registries")
    logger.warning("job 1: heartbeat failed")
    assert stream.getvalue().splitlines() == ["ready: model demo on cpu", "WARNING t: job 1: heartbeat failed"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("discord.client", "PyNaCl is not installed, voice will NOT be supported"),
        ("discord.client", "davey is not installed, voice will NOT be supported"),
        ("transformers.utils.import_utils", "`CLIPImageProcessor` requires torchvision (not installed); falling back"),
        ("sandbox.schema", "Discord OpenAPI document not found at x; request bodies will not be validated"),
    ],
)
def test_noise_is_hidden_unless_verbose(captured: tuple[logging.Logger, io.StringIO], name: str, message: str) -> None:
    """The known noisy warnings are dropped when quiet or normal and shown when verbose; others always show."""
    _, stream = captured
    noisy = logging.getLogger(name)
    noisy.addHandler(logs.handler(Verbosity.QUIET, stream))
    try:
        for chosen in (Verbosity.QUIET, Verbosity.NORMAL, Verbosity.VERBOSE):
            logs.setup(chosen)
            noisy.warning(message)
            noisy.warning("a real warning")
    finally:
        noisy.handlers.clear()
    assert stream.getvalue().count(message) == 1  # verbose only
    assert stream.getvalue().count("a real warning") == 3


def test_rq_success_lines_are_debug(captured: tuple[logging.Logger, io.StringIO]) -> None:
    """RQ's "Successfully completed" (said of cancelled jobs too) and "Job OK" show only at DEBUG, even verbose."""
    _, stream = captured
    rq = logging.getLogger("rq.worker")
    rq.addHandler(logs.handler(Verbosity.VERBOSE, stream))
    level = rq.level
    try:
        logs.setup(Verbosity.VERBOSE)
        for rq_level in (logging.INFO, logging.DEBUG):
            rq.setLevel(rq_level)  # as RQ's work() does, from the root's level
            rq.info("Successfully completed job %s in %ss on worker %s", "abc", "0:00:01", "w1")
            rq.info("Worker %s: %s: %s (%s)", "w1", "imagine-fast", "Job OK", "abc")
            rq.info("*** Listening on %s...", "imagine-fast")
    finally:
        rq.handlers.clear()
        rq.setLevel(level)
    lines = stream.getvalue().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "INFO rq.worker: *** Listening on imagine-fast...",
        "DEBUG rq.worker: Successfully completed job abc in 0:00:01s on worker w1",
        "DEBUG rq.worker: Worker w1: imagine-fast: Job OK (abc)",
        "INFO rq.worker: *** Listening on imagine-fast...",
    ]


def test_the_environment_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    """IMAGINE_LOG (set by `imagine run` for its parts) wins over a command's default; nonsense is ignored."""
    monkeypatch.setenv(logs.ENV, "quiet")
    assert logs.verbosity(Verbosity.NORMAL) is Verbosity.QUIET
    monkeypatch.setenv(logs.ENV, "loud")
    assert logs.verbosity(Verbosity.NORMAL) is Verbosity.NORMAL


@pytest.mark.slow
def test_generate_prints_only_its_result(tmp_path: Path) -> None:
    """`imagine generate --json` with the bundled model: one JSON object on stdout, nothing on stderr (no bars,
    no library warnings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGINE_", "TQDM_"))}
    env.update(PYTHONPATH=str(REPO), IMAGINE_STEPS="2", IMAGINE_DEVICE="cpu")
    result = subprocess.run(
        [sys.executable, "-m", "cli", "generate", "a red fox", "--json", "-o", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout)["model"] == "demo"

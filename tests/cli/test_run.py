"""``imagine run``: what it starts with and without a token, prefixed output, and stopping in order."""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import sys
import time
from pathlib import Path

import pytest
import redis

from cli import run as imagine_run
from cli.processes import Child, ChildSpec, PrefixedOutput, stop_in_order, wait_until
from tests.cli.running import Running, send
from worker.embedded_redis import free_port


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    imagine_run.add_parser(parser.add_subparsers())
    return parser.parse_args(["run", *argv])


def test_without_a_token_the_bot_talks_to_the_sandbox() -> None:
    """No DISCORD_TOKEN: the sandbox serves the page, and the bot gets its token, its URL and --sync."""
    plan = imagine_run.plan(_args("--port", "8081"), {"IMAGINE_GUILD_IDS": "1"}, redis_port=7001, api_port=7002)
    assert plan.sandbox is not None and plan.web_url == "http://127.0.0.1:8081"
    args = plan.sandbox.args
    token = args[args.index("--token") + 1]
    assert args[args.index("--web-port") + 1] == "8081" and args[args.index("--port") + 1] == "7002"
    assert plan.bot.args[-2:] == ["bot", "--sync"]
    env = plan.bot.env
    assert env["DISCORD_TOKEN"] == env["IMAGINE_DISCORD_TOKEN"] == token
    assert env["IMAGINE_DISCORD_URL"] == "http://127.0.0.1:7002" and env["IMAGINE_GUILD_IDS"] == ""
    for spec in (plan.redis, plan.worker, plan.bot, plan.sandbox):
        assert spec.env["IMAGINE_REDIS_URL"] == "redis://127.0.0.1:7001/0" == plan.redis_url
    # The sandbox's people and channels die with it; so does its Redis data.
    assert plan.redis.args[-3:] == ["--dir", str(Path(".imagine/sandbox-redis")), "--fresh"]


def test_with_a_token_the_bot_connects_to_discord() -> None:
    """DISCORD_TOKEN set: no sandbox, and the bot keeps the environment's token and guilds."""
    environ = {"DISCORD_TOKEN": "real", "IMAGINE_GUILD_IDS": "1"}
    plan = imagine_run.plan(_args("--model", "sdxl"), environ, redis_port=7001, api_port=7002)
    assert plan.sandbox is None and plan.web_url is None
    assert plan.bot.args[-1] == "bot" and "IMAGINE_DISCORD_URL" not in plan.bot.env
    assert plan.redis.args[-2:] == ["--dir", str(Path(".imagine/redis"))]  # kept across runs
    assert plan.bot.env["DISCORD_TOKEN"] == "real" and plan.bot.env["IMAGINE_GUILD_IDS"] == "1"
    assert plan.worker.env["IMAGINE_MODEL"] == "sdxl"
    forced = imagine_run.plan(_args("--sandbox"), environ, redis_port=7001, api_port=7002)
    assert forced.sandbox is not None and forced.bot.env["DISCORD_TOKEN"] != "real"


def test_the_token_may_come_from_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`.env` in the working directory is read; a real environment variable wins over it."""
    (tmp_path / ".env").write_text("DISCORD_TOKEN=from-file\nIMAGINE_MODEL=demo\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("IMAGINE_MODEL", "from-env")
    environ = imagine_run._environment()
    assert environ["DISCORD_TOKEN"] == "from-file" and environ["IMAGINE_MODEL"] == "from-env"


def _python(name: str, code: str) -> ChildSpec:
    return ChildSpec(name, [sys.executable, "-c", code], {})


def test_children_are_prefixed_and_stopped_in_order() -> None:
    """Each line carries its part's prefix; a part deaf to SIGTERM is killed after the grace period."""
    stream = io.StringIO()
    output = PrefixedOutput(stream, colour=False)
    polite = "import signal,sys,time; signal.signal(signal.SIGTERM, lambda *a: (print('bye'), sys.exit(0)))"
    deaf = "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
    bot = Child(_python("bot", f"{polite}; print('hello', flush=True); time.sleep(60)"), output)
    worker = Child(_python("worker", f"{deaf}; print('working', flush=True); time.sleep(60)"), output)
    wait_until(lambda: "working" in stream.getvalue() and "hello" in stream.getvalue(), 10, [bot, worker], "output")
    started = time.monotonic()
    stop_in_order([bot, worker], grace=0.5, output=output)
    assert not bot.running and not worker.running and time.monotonic() - started < 5
    lines = stream.getvalue().splitlines()
    assert "[bot]     hello" in lines and "[worker]  working" in lines
    assert lines.index("[bot]     bye") < lines.index("[worker]  did not stop within 0.5s; killing it")


def test_a_child_that_exits_early_is_reported() -> None:
    """Waiting for a part to come up fails at once, naming it, when it exits instead."""
    output = PrefixedOutput(io.StringIO(), colour=False)
    child = Child(_python("sandbox", "raise SystemExit(3)"), output)
    with pytest.raises(RuntimeError, match=r"sandbox exited \(status 3\) before it listened"):
        wait_until(lambda: False, 10, [child], "it listened")


def test_redis_part_serves_persists_and_stops(tmp_path: Path) -> None:
    """The [redis] part serves on its port, keeps data across a restart (AOF) unless --fresh, stops on SIGTERM."""
    stream = io.StringIO()
    output = PrefixedOutput(stream, colour=False)
    port = free_port()
    spec = ChildSpec("redis", [sys.executable, "-m", "cli.redis_server", "--port", str(port), "--dir", str(tmp_path)])
    fresh = ChildSpec(spec.name, [*spec.args, "--fresh"])
    for round_, (how, expected) in enumerate([(spec, None), (spec, b"yes"), (fresh, None)]):
        child = Child(how, output)
        client = redis.Redis(port=port)
        wait_until(lambda: imagine_run._redis_up(f"redis://127.0.0.1:{port}/0"), 20, [child], "Redis answered")
        assert client.get("kept") == expected, f"round {round_}"
        client.set("kept", "yes")
        client.close()
        stop_in_order([child], grace=10, output=output)
        assert child.process.returncode == 0
    assert "[redis]" in stream.getvalue() and "bye" in stream.getvalue().lower()


# What a quiet `imagine run` prints, every line of it: each part's ready line, the URL, one line per job, stopping.
QUIET_LINES = [
    r"\[redis\]   ready: (redis|valkey)-server [\d.]+ on redis://127\.0\.0\.1:\d+/0, data in .+",
    r"\[sandbox\] ready: a local Discord at http://127\.0\.0\.1:\d+, its page at http://127\.0\.0\.1:\d+",
    r"  Open http://127\.0\.0\.1:\d+  \(a local Discord; the bot comes online in a few seconds\)",
    r"\[worker\]  ready: model demo on cpu \(fp32\), loaded in [\d.]+ s; serving fast, relax from redis://\S+",
    r"\[bot\]     ready: logged in as imagine \(\d+\)",
    r'\[bot\]     job [0-9a-f]{8}: imagine "a red fox" by alice: queued → done in [\d.]+ s → posted',
    r"imagine run: stopping… \(Ctrl-C again to kill\)",
    r"\[(bot|worker|sandbox|redis)\]\s+stopped",
]
NOISE = [
    "Successfully completed",  # RQ, for every job function that returns (cancelled ones too)
    "cleaning registries",
    "subscribing to channel",
    "Listening on",
    "Loading pipeline components",  # tqdm bars
    "Loading weights",
    "torchvision",  # transformers' image-processor fallback
    "PyNaCl",  # discord.py's voice warnings
    "davey",
    "oO0OoO0OoO0Oo",  # redis-server's banner
    "overcommit",
    "OpenAPI",  # the sandbox without Discord's OpenAPI document
]


@pytest.mark.slow
def test_a_quiet_run_shows_a_ready_line_per_part_and_a_line_per_job(tmp_path: Path) -> None:
    """The terminal shows the URL, one ready line per part, one line for a job sent from the page, and no noise."""
    missing = {"IMAGINE_DISCORD_OPENAPI": str(tmp_path / "no-openapi.json")}  # the sandbox warns: quietly
    running = Running(tmp_path, free_port(), env=missing)
    try:
        url = running.wait_for_line(r"Open (http://\S+)", 60)[1]
        running.wait_for_line(r"\[bot\]\s+ready:", 60)
        running.wait_for_line(r"\[worker\]\s+ready:", 120)
        assert asyncio.run(send(url, "alice", "general", "/imagine a red fox")) == {"ok": True}
        running.wait_for_line(r"\[bot\]\s+job ", 120)
        assert running.ctrl_c() == 0, running.output()[-3000:]
    finally:
        running.close()
    lines = [line for line in running.lines if line.strip()]
    assert [line for line in lines if not any(re.fullmatch(shape, line) for shape in QUIET_LINES)] == []
    for part in ("redis", "sandbox", "worker", "bot"):
        assert sum(re.match(rf"\[{part}\]\s+ready: ", line) is not None for line in lines) == 1, part
    assert sum(" job " in line for line in lines) == 1
    assert [mark for mark in NOISE if mark in running.output()] == []


@pytest.mark.slow
def test_verbose_shows_every_parts_own_log(tmp_path: Path) -> None:
    """--verbose passes everything through: RQ's housekeeping, library warnings, progress bars, Redis's log."""
    missing = {"IMAGINE_DISCORD_OPENAPI": str(tmp_path / "no-openapi.json")}
    running = Running(tmp_path, free_port(), "--verbose", env=missing)
    try:
        running.wait_for_line(r"\[worker\].*Listening on", 120)
        running.wait_for_line(r"\[bot\].*ready: logged in as", 60)
        assert running.ctrl_c() == 0, running.output()[-3000:]
    finally:
        running.close()
    shown = [mark for mark in NOISE if mark in running.output()]
    assert shown == NOISE[1:]  # all but RQ's success line: no job ran (and that line is DEBUG, cli/logs.py)

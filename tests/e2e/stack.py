"""The end-to-end stack: the Discord emulator, a private Redis, a real worker process and a real bot process.

The emulator runs in a background thread's event loop for the whole module, so synchronous tests drive it with
``stack.run(coro)``; the bot and the workers are subprocesses (``python -m cli bot`` / ``worker``), configured by
environment variables as in production, the bot pointed at the emulator with IMAGINE_DISCORD_URL. By default one
worker runs the bundled demo model; ``Stack(workers=…)`` starts a fleet instead (one worker per entry, named by its
key, with that entry's extra environment).

Fault tests (tests/faults) shape it: Redis with an append-only file (``persist``) and stopped or restarted
(``stop_redis``, ``start_redis``, ``restart_redis``), no worker, other limits or bot settings (``queue_env``,
``bot_env``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from sandbox.client import Sandbox
from sandbox.models import Channel, Guild, Interaction, InteractionType, Message, User
from worker import keys as worker_keys
from worker.cards import ModelCard
from worker.embedded_redis import EmbeddedRedis
from worker.fleet import Fleet
from worker.presence import Presence
from worker.spec import SD_GUIDANCE, JobSpec

REPO = Path(__file__).resolve().parents[2]
BANNED = "forbiddenword"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_") and k != "DISCORD_TOKEN"}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


class Process:
    """A subprocess whose output goes to a temp file (read on failure)."""

    def __init__(self, args: list[str], env: dict[str, str], name: str):
        self.args, self.env, self.name = args, env, name
        self.log_path = Path(tempfile.mkstemp(prefix=f"e2e-{name}-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self, kill: bool = False) -> int | None:
        """SIGTERM (or SIGKILL) the process and return its exit status; None if it was not running."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            status = self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
        self.proc = None
        return status

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class Stack:
    """Everything an end-to-end test talks to.

    ``workers``: worker name → its extra environment (default: one worker, "worker", on the demo model).
    ``persist``: Redis keeps an append-only file (in ``redis_dir``, else a temporary one), so a restart keeps
    the queue. ``worker``: start the workers; without them the demo model's card is published as a worker would
    (so the bot takes jobs nobody runs). ``queue_env`` / ``bot_env``: IMAGINE_* variables over the defaults below
    (queue ones go to the bot and the workers).
    """

    def __init__(
        self,
        workers: dict[str, dict[str, str]] | None = None,
        *,
        persist: bool = False,
        redis_dir: Path | None = None,
        worker: bool = True,
        queue_env: dict[str, str] | None = None,
        bot_env: dict[str, str] | None = None,
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="emulator", daemon=True)
        self._thread.start()
        self.redis_server = EmbeddedRedis(directory=redis_dir, persist=persist).start()
        # The test's own client retries on a fresh connection, so it rides out the Redis restarts tests make.
        self.redis = redis.Redis.from_url(
            self.redis_server.url,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 5),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )
        self.with_worker = worker
        self.discord: Sandbox = self.run(self._start_sandbox())
        self.alice = self.discord.add_user("alice")
        self.bob = self.discord.add_user("bob")
        self.carol = self.discord.add_user("carol")
        self.guild: Guild = self.discord.add_guild("home", members=[self.alice, self.bob, self.carol])
        self.channel: Channel = self.guild.channel("general")
        # Every gateway event, in order (to see progress edits that later edits overwrite).
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.discord.world.subscribe(lambda name, data: self.events.append((name, data)))
        queue_env = {
            "IMAGINE_REDIS_URL": self.redis_server.url,
            # Small per-user and global limits, so the limit paths are reachable with a handful of jobs.
            "IMAGINE_CONCURRENT_LIMIT": "1",
            "IMAGINE_QUEUED_LIMIT": "2",
            "IMAGINE_QUEUE_CAP": "5",
            "IMAGINE_STEPS": "2",
            **(queue_env or {}),
        }
        worker_env = {
            **queue_env,
            "IMAGINE_MODEL": "demo",
            "IMAGINE_DEVICE": "cpu",
            "IMAGINE_PREVIEW_EVERY": "1",
            "IMAGINE_PROGRESS_INTERVAL_S": "0",
            "IMAGINE_DEFAULT_NEGATIVE": "",
        }
        self.workers = {
            name: Process([sys.executable, "-m", "cli", "worker", "--name", name], _env(**(worker_env | extra)), name)
            for name, extra in (workers or {"worker": {}}).items()
        }
        self.worker = next(iter(self.workers.values()))
        self.bot = Process(
            [sys.executable, "-m", "cli", "bot"],
            _env(
                **queue_env,
                DISCORD_TOKEN=self.discord.bot_token,
                IMAGINE_DISCORD_URL=self.discord.base_url,
                # No guild ids: commands are synced globally, so they work in DMs too. Sizes, steps and the model
                # come from the workers' cards.
                # No throttling: a tiny job's few progress events would otherwise be folded into none.
                IMAGINE_PROGRESS_EDIT_INTERVAL_S="0",
                IMAGINE_BANNED_WORDS=BANNED,
                IMAGINE_RECLAIM_IDLE_MS="2000",
                **(bot_env or {}),
            ),
            "bot",
        )

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _start_sandbox(self) -> Sandbox:
        return await Sandbox().start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        """Run a coroutine on the emulator's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        """Start the workers and the bot; wait until the bot is connected, its commands are synced and every worker
        has published its card (without workers: publish the demo model's card in their place)."""
        if not self.with_worker:
            self._stand_in_card()
            self.start_bot()
            return
        for worker in self.workers.values():
            worker.start()
        self.start_bot()
        self.wait(lambda: self._workers_up() == len(self.workers), timeout=90, what="workers up")

    def _workers_up(self) -> int:
        return sum(model.workers for model in Fleet(self.redis).models())

    def _stand_in_card(self) -> None:
        """The demo model's card, as its worker would publish it, for an hour (nothing runs the jobs)."""
        card = ModelCard(
            name="demo", family="demo", base_resolution=128, size_step=32, max_side=512, default_steps=2,
            guidance=SD_GUIDANCE,
        )  # fmt: skip
        Presence(self.redis, card, "stand-in", ttl_s=3600).publish()

    def start_bot(self) -> None:
        """Start (or restart) the bot process and wait for it to be on the gateway with commands synced."""
        # on_ready logs "logged in as"; the gateway's connected flag may still be the previous process's.
        ready_before = self.bot.output().count("logged in as")
        self.bot.start()
        self.wait(
            lambda: self.bot.output().count("logged in as") > ready_before and self._commands_synced(),
            30,
            "bot ready",
        )

    def _commands_synced(self) -> bool:
        return {"imagine", "settings", "info"} <= {c.name for c in self.discord.world.commands.values()}

    def stop_redis(self) -> None:
        """Stop the Redis server (SIGTERM: with ``persist`` its append-only file is complete)."""
        self.redis_server.stop()

    def start_redis(self) -> None:
        """Start the Redis server again on the same port (and data directory); without workers, the stand-in card
        is published again (a Redis without persistence forgot it)."""
        self.redis_server.start()
        if not self.with_worker:
            self._stand_in_card()

    def restart_redis(self, down_s: float = 0.0) -> None:
        """Stop Redis, wait ``down_s``, start it again: every client's connections go stale."""
        self.stop_redis()
        time.sleep(down_s)
        self.start_redis()

    def stop(self) -> None:
        self.bot.stop()
        for worker in self.workers.values():
            worker.stop()
        for process in (self.bot, *self.workers.values()):
            process.log_path.unlink(missing_ok=True)
        self.run(self.discord.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.redis.close()
        self.redis_server.close()

    def wait(self, condition: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
        """Poll ``condition`` (run on the emulator's loop: it must not call ``run``) until truthy, returning it.

        Fails with the processes' output tails on timeout.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.run(_call(condition))
            if value:
                return value
            time.sleep(0.05)
        workers = "".join(f"\n--- {name} ---\n{w.output()[-2000:]}" for name, w in self.workers.items())
        raise AssertionError(f"timed out waiting for {what}\n--- bot ---\n{self.bot.output()[-3000:]}{workers}")

    # what people do (thin wrappers running the emulator client on its loop)

    def slash(self, command: str, user: User, channel: Channel | None = None, **options: Any) -> Any:
        """``user`` runs ``/command`` and the bot answers within Discord's 3 seconds."""
        channel = channel or self.channel
        return self.run(self.discord.slash(command, user=user, channel=channel, timeout=3.0, **options))

    def click(self, message: Message, button: str, user: User) -> Any:
        """``user`` clicks a button (by label or emoji) and the bot answers within 3 seconds."""
        names = labels(message)
        if button in names:
            button = message.buttons[names.index(button)]["custom_id"]
        return self.run(self.discord.click(message, button, user=user, timeout=3.0))

    def select(self, message: Message, custom_id: str, value: str, user: User) -> Interaction:
        """``user`` picks ``value`` in the select menu ``custom_id`` on ``message``; the bot answers in 3 s."""

        async def pick() -> Interaction:
            data = {"custom_id": custom_id, "component_type": 3, "values": [value]}
            channel = self.discord.world.channels[message.channel_id]
            interaction = self.discord.world.start_interaction(
                InteractionType.MESSAGE_COMPONENT, user, channel, data, message
            )
            return await self.discord.wait_for_response(interaction, 3.0)

        return self.run(pick())

    def original(self, interaction: Interaction, timeout: float = 10) -> Message:
        """The interaction's response once it is filled in."""
        return self.run(self.discord.wait_for_original(interaction, timeout=timeout))

    def spec(self, job_id: str) -> JobSpec:
        """A job's stored spec."""
        raw = self.redis.get(worker_keys.spec(job_id))
        assert raw is not None, f"job {job_id} has no stored spec"
        return JobSpec.from_json(raw)

    def messages(self, channel: Channel | None = None, viewer: User | None = None) -> list[Message]:
        return self.run(_call(lambda: self.discord.messages(channel or self.channel, viewer=viewer)))

    def wait_message(
        self,
        predicate: Callable[[Message], Any],
        channel: Channel | None = None,
        timeout: float = 60,
        viewer: User | None = None,
    ) -> Message:
        """The first message in the channel matching ``predicate``."""

        def find() -> Message | None:
            return next(
                (m for m in self.discord.messages(channel or self.channel, viewer=viewer) if predicate(m)), None
            )

        return self.wait(find, timeout, "a matching message")


def labels(message: Message) -> list[str | None]:
    """The message's buttons by label (or emoji), in order."""
    return [b.get("label") or (b.get("emoji") or {}).get("name") for b in message.buttons]


def job_of(message: Message) -> str:
    """The job id in a message's buttons' custom_ids."""
    return message.buttons[0]["custom_id"].split(":")[2]


async def _call(func: Callable[[], Any]) -> Any:
    return func()

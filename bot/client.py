"""The Discord client: wires settings, Redis, the queue, commands, persistent buttons and the delivery loop."""

from __future__ import annotations

import asyncio
import logging

import discord
import discord.gateway
import yarl
from discord import app_commands

from bot import commands, messages, metrics
from bot.actions import ButtonActions
from bot.buttons import JobButton
from bot.command_sync import sync_commands
from bot.delivery import Delivery
from bot.jobs import JobRecords
from bot.moderation import BannedWords
from bot.outbox import Outbox
from bot.progress import ProgressEditor
from bot.prompt import ParserOptions
from bot.settings import BotSettings
from bot.submit import Submitter
from bot.user_settings import UserSettingsStore
from worker.events import EventConsumer
from worker.queue import JobQueue
from worker.settings import QueueSettings
from worker.store import open_store

log = logging.getLogger(__name__)


def use_discord_at(url: str | None) -> None:
    """Point discord.py at another Discord (the local emulator) by its root URL; None keeps discord.com.

    discord.py builds every REST URL, webhook routes included, from ``Route.BASE``, and the plain Client connects
    to ``DEFAULT_GATEWAY`` without asking ``GET /gateway/bot``, so both are set (as ``sandbox.connect`` documents;
    the bot does not import the test emulator).
    """
    if not url:
        return
    discord.http.Route.BASE = f"{url}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url.replace("http", "ws", 1) + "/gateway")
    log.info("talking to the Discord at %s", url)


class ImagineBot(discord.Client):
    """The imagine bot."""

    def __init__(self, settings: BotSettings, queue_settings: QueueSettings, *, force_sync: bool = False):
        # No privileged intents: everything arrives as interactions. The guilds intent (not privileged) keeps
        # discord.py's channel cache, which interactions use.
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(intents=intents, allowed_mentions=messages.mentions())
        self.settings = settings
        self.queue_settings = queue_settings
        self.force_sync = force_sync
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self._on_command_error
        self.parser_options = ParserOptions(base=settings.model_base, size_step=settings.size_step)
        self.banned = BannedWords(settings.banned_words)
        self.outbox = Outbox(self)
        self.actions = ButtonActions(self)
        self._delivery_task: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        """Connect to Redis, register commands and buttons, sync deliberately, start delivering."""
        qs = self.queue_settings
        self.redis = qs.redis_async()
        self.queue = JobQueue.from_settings(qs)
        self.store = open_store(qs, self.queue.connection)
        self.records = JobRecords(self.redis)
        self.user_prefs = UserSettingsStore(self.redis)
        self.submitter = Submitter(self.queue, self.records, self.redis)
        self.progress = ProgressEditor(self.outbox.edit, self._fetch, self.settings.progress_edit_interval_s)
        self.add_dynamic_items(JobButton)
        commands.register(self.tree)
        await sync_commands(self.tree, self.redis, self.settings.guild_ids, force=self.force_sync)
        consumer = EventConsumer(
            qs.redis_async(),
            group=self.settings.consumer_group,
            name=self.settings.consumer_name,
            min_idle_ms=self.settings.reclaim_idle_ms,
        )
        self.delivery = Delivery(self, consumer)
        self._delivery_task = asyncio.create_task(self.delivery.run(), name="delivery")
        self._delivery_task.add_done_callback(_log_crash)
        log.info(
            "bot ready to start: redis %s, %d guild(s) for commands", qs.redis_url_safe, len(self.settings.guild_ids)
        )

    async def _fetch(self, reference: str) -> bytes | None:
        return await self.delivery.fetch(reference)

    async def on_ready(self) -> None:
        """Log who we are once the gateway is up."""
        log.info("logged in as %s (%s)", self.user, self.user.id if self.user else "?")

    async def on_app_command_completion(
        self, interaction: discord.Interaction, command: app_commands.Command | app_commands.ContextMenu
    ) -> None:
        """Count a slash command that ran to the end (its own refusals, like a bad prompt, included)."""
        metrics.INTERACTIONS.labels("command", command.name, "ok").inc()

    async def _on_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Log a failed command and answer it with an Internal error embed; never crash."""
        name = interaction.command.name if interaction.command else "?"
        log.error("command %s failed", name, exc_info=error)
        metrics.INTERACTIONS.labels("command", name, "error").inc()
        await self.actions.answer_error(interaction, messages.internal_error(None))

    async def close(self) -> None:
        """Stop delivering, then disconnect."""
        if self._delivery_task is not None:
            self.delivery.stop()
            self._delivery_task.cancel()
        if hasattr(self, "submitter"):
            self.submitter.close()
        await super().close()


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("delivery loop stopped", exc_info=task.exception())

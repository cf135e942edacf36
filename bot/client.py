"""The Discord client: opens the bot's services, wires the handlers to them, and runs the delivery loop.

``setup_hook`` builds everything once, before the gateway connects: ``BotServices`` (connections and the objects
on them), then each handler with only what it uses: the slash commands, the button actions (the client's
``button_handler``, which persistent buttons find through the interaction), /info, progress edits, delivery and
the reconciler (which tells users of jobs the queue lost).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import discord.gateway
import yarl
from discord import app_commands

from bot import messages, metrics
from bot.actions import ButtonActions
from bot.buttons import ButtonClient, ButtonHandler, JobButton
from bot.command_sync import sync_commands
from bot.commands import Commands
from bot.delivery import Delivery
from bot.info import Info
from bot.model_choice import ModelChooser
from bot.moderation import BannedWords
from bot.progress import ProgressEditor
from bot.reconcile import Reconciler
from bot.replies import answer_error, error_embed_for
from bot.services import BotServices
from bot.settings import BotSettings
from worker.events import EventConsumer
from worker.fleet import Fleet
from worker.settings import QueueSettings

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


class ImagineBot(ButtonClient):
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
        self.tree.error(self._on_command_error)
        # Made by setup_hook.
        self._services: BotServices | None = None
        self._buttons: ButtonActions | None = None
        self._delivery: Delivery | None = None
        self._reconciler: Reconciler | None = None
        self._tasks: list[asyncio.Task[None]] = []  # the delivery loop and the reconciler

    @property
    def button_handler(self) -> ButtonHandler:
        """The button actions (made by ``setup_hook``, before any button can be pressed)."""
        if self._buttons is None:
            raise RuntimeError("a job button was pressed before setup_hook ran")
        return self._buttons

    async def setup_hook(self) -> None:
        """Open the services, register commands and buttons, sync deliberately, start delivering."""
        settings, qs = self.settings, self.queue_settings
        services = self._services = BotServices.open(self, qs)
        models = ModelChooser(Fleet(services.queue.connection), services.blocking, settings.default_model)
        self._buttons = ButtonActions(
            queue=services.queue,
            blocking=services.blocking,
            records=services.records,
            user_prefs=services.user_prefs,
            submitter=services.submitter,
            outbox=services.outbox,
            models=models,
        )
        self.add_dynamic_items(JobButton)
        info = Info(
            connection=services.redis,
            queue=services.queue,
            records=services.records,
            user_prefs=services.user_prefs,
            blocking=services.blocking,
            models=models,
        )
        commands = Commands(
            user_prefs=services.user_prefs,
            submitter=services.submitter,
            outbox=services.outbox,
            info=info,
            models=models,
            banned=BannedWords(settings.banned_words),
        )
        commands.register(self.tree)
        await sync_commands(self.tree, services.redis, settings.guild_ids, force=self.force_sync)
        self._delivery = Delivery(
            EventConsumer(
                qs.redis_async(),
                group=settings.consumer_group,
                name=settings.consumer_name,
                min_idle_ms=settings.reclaim_idle_ms,
            ),
            connection=services.redis,
            records=services.records,
            pending=services.pending,
            queue=services.queue,
            blocking=services.blocking,
            outbox=services.outbox,
            progress=ProgressEditor(services.outbox.edit, services.images.fetch, settings.progress_edit_interval_s),
            images=services.images,
        )
        self._reconciler = Reconciler(
            pending=services.pending,
            records=services.records,
            connection=services.redis,
            queue=services.queue,
            blocking=services.blocking,
            tell_lost=self._delivery.tell_lost,
            interval_s=settings.reconcile_interval_s,
        )
        self._tasks = [
            asyncio.create_task(self._delivery.run(), name="delivery"),
            asyncio.create_task(self._reconciler.run(), name="reconcile"),
        ]
        for task in self._tasks:
            task.add_done_callback(_log_crash)
        log.info("bot ready to start: redis %s, %d guild(s) for commands", qs.redis_url_safe, len(settings.guild_ids))

    async def on_ready(self) -> None:
        """Log who we are once the gateway is up."""
        user_id = self.user.id if self.user else "?"
        log.info("ready: logged in as %s (%s)", self.user, user_id, extra={"headline": True})  # see cli/logs.py

    async def on_app_command_completion(
        self,
        interaction: discord.Interaction[ImagineBot],
        command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu,
    ) -> None:
        """Count a slash command that ran to the end (its own refusals, like a bad prompt, included)."""
        metrics.INTERACTIONS.labels("command", command.name, "ok").inc()

    async def _on_command_error(
        self, interaction: discord.Interaction[ImagineBot], error: app_commands.AppCommandError
    ) -> None:
        """Log a failed command and answer it (queue unavailable, or an Internal error); never crash."""
        name = interaction.command.name if interaction.command else "?"
        log.error("command %s failed", name, exc_info=error)
        metrics.INTERACTIONS.labels("command", name, "error").inc()
        await answer_error(interaction, error_embed_for(error))

    async def close(self) -> None:
        """Stop delivering and reconciling, then disconnect."""
        for loop in (self._delivery, self._reconciler):
            if loop is not None:
                loop.stop()
        for task in self._tasks:
            task.cancel()
        if self._services is not None:
            self._services.close()
        await super().close()


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s loop stopped", task.get_name(), exc_info=task.exception())

"""Pointing an unmodified discord.py at the emulator instead of discord.com.

discord.py builds every REST URL (bot and webhook routes alike) from `discord.http.Route.BASE`, and the plain
`Client` connects to `DiscordWebSocket.DEFAULT_GATEWAY` without asking `GET /gateway/bot` (only AutoShardedClient
asks), so both are set. A bot process calls `point_discord_py_from_env()` once before `client.start`:

    from sandbox.connect import point_discord_py_from_env
    point_discord_py_from_env()  # no-op unless IMAGINE_DISCORD_URL is set

The equivalent two lines, for code that must not import this package:

    discord.http.Route.BASE = f"{url}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url.replace("http", "ws", 1) + "/gateway")
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

log = logging.getLogger(__name__)

URL_ENV = "IMAGINE_DISCORD_URL"  # the emulator's root URL, e.g. http://127.0.0.1:8765


def point_discord_py_at(base_url: str) -> None:
    """Make discord.py in this process talk to the emulator at `base_url` (its root URL, no /api suffix)."""
    import discord.gateway
    import discord.http
    import yarl

    base_url = base_url.rstrip("/")
    discord.http.Route.BASE = f"{base_url}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base_url.replace("http", "ws", 1) + "/gateway")
    log.info("discord.py now talks to the emulator at %s", base_url)


def point_discord_py_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """Point discord.py at IMAGINE_DISCORD_URL when it is set; returns that URL, or None (real Discord)."""
    url = (environ if environ is not None else os.environ).get(URL_ENV)
    if url:
        point_discord_py_at(url)
    return url or None

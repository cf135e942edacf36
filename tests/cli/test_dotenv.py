"""One `.env`, read alike by every process: the worker's queue and engine settings and the bot's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import BotSettings
from models.settings import EngineSettings
from worker.settings import ENV_CONFIG, QueueSettings

DOTENV = """\
DISCORD_TOKEN=from-dotenv
IMAGINE_REDIS_URL=redis://dotenv.internal:6390/3
IMAGINE_HEARTBEAT_S=11
IMAGINE_MODEL=/models/from-dotenv
IMAGINE_ALIASES={"v6": "/models/from-dotenv"}
IMAGINE_STEPS=7
IMAGINE_BANNED_WORDS=dotenvword
"""


@pytest.fixture
def in_dotenv_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".env").write_text(DOTENV)
    monkeypatch.chdir(tmp_path)
    for line in DOTENV.splitlines():
        monkeypatch.delenv(line.partition("=")[0], raising=False)
    return tmp_path


def test_worker_and_bot_settings_read_the_same_dotenv(in_dotenv_dir: Path) -> None:
    """`imagine worker` (QueueSettings, EngineSettings) and `imagine bot` (BotSettings, QueueSettings) see one .env."""
    for settings_class in (QueueSettings, EngineSettings, BotSettings):
        assert settings_class.model_config["env_file"] == ENV_CONFIG["env_file"] == ".env"
        assert settings_class.model_config["env_prefix"] == "IMAGINE_"
    queue, engine, bot = QueueSettings(), EngineSettings(), BotSettings()
    assert (queue.redis_url, queue.heartbeat_s) == ("redis://dotenv.internal:6390/3", 11)
    assert (engine.model, engine.aliases, engine.steps) == ("/models/from-dotenv", {"v6": "/models/from-dotenv"}, 7)
    assert (bot.banned_words, bot.discord_token.get_secret_value()) == (["dotenvword"], "from-dotenv")


def test_the_environment_wins_over_dotenv_everywhere(in_dotenv_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real environment variable overrides the .env line for the engine as for the queue and the bot."""
    monkeypatch.setenv("IMAGINE_STEPS", "3")
    monkeypatch.setenv("IMAGINE_HEARTBEAT_S", "5")
    monkeypatch.setenv("IMAGINE_BANNED_WORDS", "envword")
    assert (EngineSettings().steps, QueueSettings().heartbeat_s, BotSettings().banned_words) == (3, 5, ["envword"])

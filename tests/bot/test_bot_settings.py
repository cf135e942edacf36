"""Bot settings from the environment; the token never shows."""

from __future__ import annotations

import logging

import pytest

from bot.settings import BotSettings

TOKEN = "MTIz.secret-token-value"


def test_token_from_either_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """DISCORD_TOKEN and IMAGINE_DISCORD_TOKEN both work."""
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    assert BotSettings(_env_file=None).discord_token.get_secret_value() == TOKEN
    monkeypatch.delenv("DISCORD_TOKEN")
    monkeypatch.setenv("IMAGINE_DISCORD_TOKEN", TOKEN + "2")
    assert BotSettings(_env_file=None).discord_token.get_secret_value() == TOKEN + "2"


def test_token_never_in_repr_or_logs(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Neither repr nor a logged settings object reveals the token."""
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    settings = BotSettings(_env_file=None)
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("settings: %s %r", settings, settings)
    assert TOKEN not in repr(settings) and TOKEN not in str(settings) and TOKEN not in caplog.text


def test_lists_from_comma_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guild ids and banned words accept plain comma lists as well as JSON."""
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("IMAGINE_GUILD_IDS", "1, 2")
    monkeypatch.setenv("IMAGINE_BANNED_WORDS", '["gore", "blood"]')
    monkeypatch.setenv("IMAGINE_DISCORD_URL", "http://127.0.0.1:8765/")
    settings = BotSettings(_env_file=None)
    assert settings.guild_ids == [1, 2]
    assert settings.banned_words == ["gore", "blood"]
    assert settings.discord_url == "http://127.0.0.1:8765"


def test_missing_token_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a token the settings do not build."""
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("IMAGINE_DISCORD_TOKEN", raising=False)
    with pytest.raises(ValueError, match=r"discord_token|DISCORD_TOKEN"):
        BotSettings(_env_file=None)

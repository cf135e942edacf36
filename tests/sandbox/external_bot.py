"""TinyBot as its own process, pointed at an emulator by IMAGINE_DISCORD_URL: `python -m tests.sandbox.external_bot`."""

from __future__ import annotations

import os

from sandbox.connect import point_discord_py_from_env
from tests.sandbox.sandbox_harness import TinyBot


def main() -> None:
    """Run TinyBot with the token in DISCORD_TOKEN until killed."""
    if point_discord_py_from_env() is None:
        raise SystemExit("IMAGINE_DISCORD_URL is not set; refusing to talk to the real Discord")
    TinyBot().run(os.environ["DISCORD_TOKEN"], log_handler=None)


if __name__ == "__main__":
    main()

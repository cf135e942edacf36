"""A local Discord: an emulator of Discord's v10 REST API and Gateway that an unmodified discord.py bot talks to.

Tests drive it through `sandbox.client.Sandbox`; a bot is pointed at it with `sandbox.connect`.
This package never imports the project's `bot` package.
"""

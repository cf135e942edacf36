"""Answering an interaction with an error, whatever state the interaction is in."""

from __future__ import annotations

import logging

import discord

log = logging.getLogger(__name__)


async def answer_error(interaction: discord.Interaction, embed: discord.Embed) -> None:
    """An ephemeral error, whether or not the interaction was answered already; never raises for Discord errors."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not answer interaction %s with an error: %s", interaction.id, exc)

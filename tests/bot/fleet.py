"""Model cards for the handler tests, published into the test Redis as a worker would (worker/presence.py)."""

from __future__ import annotations

from bot.model_choice import ModelChooser
from bot.services import BotServices
from worker.cards import Capabilities, ModelCard
from worker.fleet import Fleet
from worker.presence import Presence
from worker.spec import SD_GUIDANCE, GuidanceCurve

# What the handler tests' jobs go to unless they say otherwise (the `services` fixture publishes it).
SD1 = ModelCard(
    name="sd1",
    aliases=("5",),
    family="sd1",
    base_resolution=512,
    size_step=64,
    max_side=2048,
    default_steps=20,
    guidance=SD_GUIDANCE,
)
DEMO = ModelCard(
    name="demo",
    aliases=("a", "niji"),
    family="demo",
    base_resolution=128,
    size_step=32,
    max_side=512,
    default_steps=8,
    guidance=SD_GUIDANCE,
)
# A guidance-distilled family that honours none of the optional flags, and draws nothing past its base.
PLAIN = ModelCard(
    name="plain",
    family="flux",
    base_resolution=1024,
    size_step=64,
    max_side=1024,
    default_steps=4,
    guidance=GuidanceCurve(at_0=3.5, at_100=3.5, at_1000=3.5),
    capabilities=Capabilities(negative_prompt=False, weights=False, stylize=False, tile=False, img2img=False),
)


def publish(services: BotServices, card: ModelCard, worker_id: str | None = None) -> Presence:
    """``card`` online, as one more worker's (it stays for a minute; ``withdraw()`` takes it offline)."""
    presence = Presence(services.queue.connection, card, worker_id or card.name, ttl_s=60)
    presence.publish()
    return presence


def chooser(services: BotServices, default_model: str | None = None) -> ModelChooser:
    """The bot's model chooser on the test Redis."""
    return ModelChooser(Fleet(services.queue.connection), services.blocking, default_model)

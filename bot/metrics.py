"""The bot's Prometheus metrics: interactions by name and outcome, prompts submitted, and deliveries.

Served over HTTP (``/metrics``) on ``IMAGINE_BOT_METRICS_PORT`` by ``imagine bot``; 0 (the default) serves nothing.
The metrics live in prometheus_client's default registry, so the process collectors (CPU, memory) come along.
Queue depth and job timings are the workers' metrics (``worker.metrics``); this module imports nothing from the
diffusion side.
"""

from __future__ import annotations

from prometheus_client import Counter

from worker.metrics_http import serve_metrics as serve_metrics  # the /metrics endpoint, shared

# type: command or button; name: the command (imagine, settings, info) or the button's action (upscale, …);
# outcome: ok, or error when the handler raised (the user got an "Internal error" answer).
INTERACTIONS = Counter(
    "imagine_bot_interactions", "Interactions the bot handled, by type, name and outcome.", ["type", "name", "outcome"]
)
# What became of each /imagine prompt: accepted (one or more jobs queued), refused (limits, queue full), invalid
# (bad parameters) or banned (a banned word).
PROMPTS = Counter("imagine_bot_prompts", "/imagine prompts by outcome.", ["outcome"])
# Job events shown in Discord. event: queued, started, progress, done, failed, cancelled; outcome: shown, skipped
# (already delivered, or a job this bot does not know), retry (left pending to try again) or dropped (given up).
DELIVERIES = Counter(
    "imagine_bot_deliveries", "Job events the delivery loop handled, by event and outcome.", ["event", "outcome"]
)

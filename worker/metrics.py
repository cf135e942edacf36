"""The worker's Prometheus metrics: jobs by kind and outcome, job seconds, queue depth and model load time.

Served over HTTP (``/metrics``) on ``IMAGINE_WORKER_METRICS_PORT`` by ``imagine worker``; 0 (the default) serves
nothing. The metrics live in prometheus_client's default registry, so the process collectors (CPU, memory, open
files) come along. Several workers on one machine need one port each (or 0): a second worker asking for a taken
port logs an error and runs without an endpoint rather than failing.

Queue depth is read from Redis when scraped, not kept up to date by the workers: any worker's endpoint shows
the depth of every model's queues (each ``imagine:<model>:<mode>`` RQ has seen), and an idle worker costs
nothing between scrapes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import redis.exceptions
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from rq.queue import Queue

from worker import keys
from worker.metrics_http import serve_metrics as serve_metrics  # the /metrics endpoint, shared

if TYPE_CHECKING:
    import redis as redis_sync

log = logging.getLogger(__name__)

# kind: imagine, variation, upscale, reroll (or "unknown" for a spec that did not parse).
# outcome: done, failed, cancelled, duplicate (already finished by an earlier run), retried (its worker died;
# run again), or lost (its worker died and no retries were left).
JOBS = Counter("imagine_jobs", "Jobs a worker finished, by kind and outcome.", ["kind", "outcome"])
# From the job reaching the worker to its terminal event: the user's wait minus queueing. Buckets span a tiny CPU
# model's fraction of a second to SDXL upscales on a busy GPU.
JOB_SECONDS = Histogram(
    "imagine_job_seconds",
    "Seconds a job ran on a worker (source image, engine, storing files), by kind.",
    ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600),
)
JOBS_RUNNING = Gauge("imagine_jobs_running", "Jobs this worker is running now (0 or 1).")
MODEL_LOAD_SECONDS = Gauge("imagine_model_load_seconds", "Seconds this worker took to load its engine.")


class QueueDepth(Collector):
    """``imagine_queue_depth{queue}``: jobs waiting in each model's RQ queues, read from Redis at scrape time."""

    def __init__(self) -> None:
        self.connection: redis_sync.Redis | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One gauge per queue; nothing before ``watch`` or while Redis is unreachable (the scrape still works)."""
        family = GaugeMetricFamily(
            "imagine_queue_depth", "Jobs waiting in each queue (not yet started).", labels=["queue"]
        )
        if self.connection is not None:
            try:
                prefix = Queue.redis_queue_namespace_prefix
                known = (
                    k.decode() if isinstance(k, bytes) else k for k in self.connection.smembers(Queue.redis_queues_keys)
                )
                for name in sorted(k.removeprefix(prefix) for k in known if k.startswith(prefix)):
                    if keys.parse_queue_name(name) is not None:
                        family.add_metric([name], float(self.connection.llen(prefix + name)))
            except redis.exceptions.RedisError as exc:
                log.warning("metrics: queue depth not read: %s", exc)
        yield family


QUEUE_DEPTH = QueueDepth()
REGISTRY.register(QUEUE_DEPTH)


def watch_queues(connection: redis_sync.Redis) -> None:
    """Report the depth of the queues on this Redis (the worker calls it once it has a connection)."""
    QUEUE_DEPTH.connection = connection

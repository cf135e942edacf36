"""The ``/metrics`` endpoint both processes serve (worker and bot): light, no torch, no engine."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

log = logging.getLogger(__name__)


def serve_metrics(host: str, port: int) -> bool:
    """Serve ``/metrics`` on ``host:port`` in a daemon thread; False (logged) when off or the port is taken."""
    if port == 0:
        return False
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        log.error("metrics: cannot listen on %s:%d (%s); running without a metrics endpoint", host, port, exc)
        return False
    log.info("metrics: serving on http://%s:%d/metrics", host, port)
    return True

"""The worker's Prometheus endpoint, scraped over HTTP while real workers (in-process and a process) run jobs."""

from __future__ import annotations

import urllib.request

import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.worker.conftest import start_worker, stop_worker
from tests.worker.helpers import drain, make_spec, wait_for
from worker import metrics
from worker.embedded_redis import free_port
from worker.events import EventLog
from worker.process import load_engine
from worker.queue import JobQueue
from worker.settings import QueueSettings
from worker.spec import Mode

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    """Every sample on the endpoint, keyed by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the endpoint does not show it (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_jobs_outcomes_seconds_and_queue_depth(settings: QueueSettings, connection: redis.Redis) -> None:
    """Jobs run by an in-process worker show up by kind and outcome, timed, with the queues' depth read on scrape."""
    port = free_port()
    assert metrics.serve_metrics("127.0.0.1", port)
    queue = JobQueue(connection, settings)
    for user in (1, 2):
        queue.enqueue(make_spec(user_id=user, seed=user))
    queue.enqueue(make_spec(prompt="engine-error", user_id=3))
    queue.enqueue(make_spec(user_id=4, mode=Mode.RELAX))
    engine = load_engine(settings)  # the real loading path, with the fake engine class
    metrics.watch_queues(connection)
    before = scrape(port)
    assert value(before, "imagine_queue_depth", queue="imagine:fake:fast") == 3
    assert value(before, "imagine_queue_depth", queue="imagine:fake:relax") == 1

    assert drain(settings, engine=engine) == 4

    after = scrape(port)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("imagine_jobs_total", kind="imagine", outcome="done") == 3
    assert delta("imagine_jobs_total", kind="imagine", outcome="failed") == 1
    assert delta("imagine_job_seconds_count", kind="imagine") == 4
    assert delta("imagine_job_seconds_bucket", kind="imagine", le="+Inf") == 4
    assert value(after, "imagine_queue_depth", queue="imagine:fake:fast") == 0
    assert value(after, "imagine_jobs_running") == 0
    assert ("imagine_model_load_seconds", frozenset()) in after


def test_worker_process_serves_metrics_on_its_port(settings: QueueSettings, connection: redis.Redis) -> None:
    """`imagine worker` with IMAGINE_WORKER_METRICS_PORT serves the endpoint and counts the jobs it runs."""
    port = free_port()
    proc = start_worker(settings, IMAGINE_WORKER_METRICS_PORT=str(port))
    try:
        wait_for(lambda: _answers(port), timeout=30)
        spec = make_spec()
        JobQueue(connection, settings).enqueue(spec)
        wait_for(lambda: EventLog(connection).outcome(spec.id) is not None, timeout=30)
        # The job's done event is written just before the counter moves: wait for the counter too.
        samples = wait_for(lambda: _with_done(scrape(port)))
        assert value(samples, "imagine_job_seconds_count", kind="imagine") == 1
        assert value(samples, "imagine_model_load_seconds") >= 0
        assert value(samples, "imagine_queue_depth", queue="imagine:fake:relax") == 0
    finally:
        output = stop_worker(proc)
    assert f"metrics: serving on http://127.0.0.1:{port}/metrics" in output


def test_taken_port_leaves_the_worker_running_without_metrics() -> None:
    """A second endpoint on a taken port is refused with False (logged), not an exception; port 0 serves nothing."""
    port = free_port()
    assert metrics.serve_metrics("127.0.0.1", port)
    assert not metrics.serve_metrics("127.0.0.1", port)
    assert not metrics.serve_metrics("127.0.0.1", 0)


def _with_done(samples: Samples) -> Samples | None:
    return samples if value(samples, "imagine_jobs_total", kind="imagine", outcome="done") else None


def _answers(port: int) -> bool:
    try:
        scrape(port)
    except OSError:
        return False
    return True

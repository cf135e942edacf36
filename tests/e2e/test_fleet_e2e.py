"""End to end, a fleet: two `imagine worker` processes running two models on one Redis, and the real bot routing
/imagine between them by the cards they publish.

One worker runs the bundled demo model (128 px base, alias "a"), the other a tiny random-weight SD1 model saved as
a diffusers folder (512 px base, alias "b"); both at 2 steps. `--v a` and `--v b` are each drawn by the right
worker at their own model's size, /info lists both models with their workers, and `--v c` (no worker runs it) is
answered at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.e2e.stack import Stack, job_of, labels
from worker.events import EventLog, EventType

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """This module's stack: a demo worker and a tiny-SD worker (overrides the one-worker stack of conftest)."""
    from models.tiny import tiny_sd_pipeline  # the diffusion side, only to write the tiny model's folder

    sd_dir = tmp_path_factory.mktemp("fleet") / "tiny-sd"
    tiny_sd_pipeline().save_pretrained(sd_dir)
    s = Stack(
        workers={
            "demo-worker": {"IMAGINE_MODEL": "demo", "IMAGINE_ALIASES": json.dumps({"a": "demo"})},
            "sd-worker": {"IMAGINE_MODEL": "b", "IMAGINE_ALIASES": json.dumps({"b": str(sd_dir)})},
        }
    )
    s.sd_model = str(sd_dir)  # type: ignore[attr-defined]  # the SD card's name: the model IMAGINE_MODEL=b resolves to
    try:
        s.start()
        yield s
    finally:
        s.stop()


def test_two_models_each_drawn_by_its_own_worker(stack: Stack) -> None:
    """--v a and --v b reach the worker of each model, sized by its card; /info shows both; --v c is refused."""
    sd_model: str = stack.sd_model  # type: ignore[attr-defined]  # set on the stack by the fixture
    began = time.monotonic()

    asked = time.monotonic()
    refused = stack.slash("imagine", stack.carol, prompt="a red sun --v c").original
    assert time.monotonic() - asked < 3
    embed = refused.embeds[0]
    assert refused.ephemeral and embed["title"] == "Model offline" and "`c`" in embed["description"]
    online = {f["name"]: f["value"] for f in embed["fields"]}["Models online"]
    assert online.splitlines() == [f"`{sd_model}` (b)", "`demo` (a)"]

    # Two users, so the per-user concurrency limit of 1 lets both run at once, one on each worker.
    stack.slash("imagine", stack.alice, prompt="a red sun over the sea --v a --ar 16:9")
    stack.slash("imagine", stack.bob, prompt="a yellow sun over the sea --v b --ar 16:9")
    grid_a = stack.wait_message(lambda m: "U1" in labels(m) and "a red sun over the sea" in m.content)
    grid_b = stack.wait_message(lambda m: "U1" in labels(m) and "a yellow sun over the sea" in m.content)

    spec_a, spec_b = stack.spec(job_of(grid_a)), stack.spec(job_of(grid_b))
    assert (spec_a.model, spec_a.prompt.width, spec_a.prompt.height, spec_a.steps) == ("demo", 160, 96, 2)
    assert (spec_b.model, spec_b.prompt.width, spec_b.prompt.height, spec_b.steps) == (sd_model, 704, 384, 2)
    log = EventLog(stack.redis)
    for spec, worker in ((spec_a, "demo-worker"), (spec_b, "sd-worker")):
        events = {event.type: event.data for event in log.history(spec.id)}
        assert events[EventType.STARTED]["worker"].startswith(worker), events
        done = events[EventType.DONE]
        assert (done["model"], done["width"], done["height"]) == (spec.model, spec.prompt.width, spec.prompt.height)

    info = stack.original(stack.slash("info", stack.carol))
    fields = {f["name"]: f["value"] for f in info.embeds[0]["fields"]}
    assert fields["Workers online"] == "2"
    assert fields["Models online"].splitlines() == [
        f"`{sd_model}` (b) — 1 worker, 0 fast and 0 relax jobs queued",
        "`demo` (a) — 1 worker, 0 fast and 0 relax jobs queued",
    ]
    assert time.monotonic() - began < 60

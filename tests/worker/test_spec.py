"""The job spec: versioned, JSON only, strict about what it accepts."""

from __future__ import annotations

import itertools
import json

import pytest

from worker.spec import (
    JobKind,
    JobSpec,
    JobSpecError,
    Mode,
    Parent,
    PromptFields,
    Requester,
    Strength,
    WeightedPrompt,
    follow_up_spec,
    guidance_for_stylize,
    imagine_spec,
    output_side,
    steps_for_quality,
)


def _prompt(**kw) -> PromptFields:
    return PromptFields(prompts=[WeightedPrompt(text="a lighthouse at dusk")], width=512, height=512, **kw)


def _spec(**kw) -> JobSpec:
    fields = {"kind": JobKind.IMAGINE, "model": "sd1", "prompt": _prompt(), "seed": 42, "steps": 20, "guidance": 7.0}
    fields["requester"] = Requester(user_id=1, channel_id=2, guild_id=3)
    fields.update(kw)
    return JobSpec(**fields)


def test_round_trips_through_json():
    """A spec written as JSON reads back equal, so a stored spec can regenerate its job."""
    spec = _spec(prompt=_prompt(negative="fog", tile=True, chaos=30))
    text = spec.to_json()
    assert json.loads(text)["prompt"]["negative"] == "fog"
    assert JobSpec.from_json(text) == spec
    assert JobSpec.from_json(json.loads(text)) == spec


def test_unknown_version_is_rejected_with_reason():
    """A spec from a newer bot is refused, naming the version, instead of being half understood."""
    data = json.loads(_spec().to_json()) | {"version": 99}
    with pytest.raises(JobSpecError, match="version 99"):
        JobSpec.from_json(data)


def test_version_1_specs_are_refused():
    """A spec from before models were named (version 1, no model) is refused, so it is never routed by guess."""
    data = json.loads(_spec().to_json()) | {"version": 1}
    del data["model"]
    with pytest.raises(JobSpecError, match="version 1"):
        JobSpec.from_json(data)


def test_model_is_required():
    """A spec must name the model that draws it: its queue and the worker's safety net depend on it."""
    data = json.loads(_spec().to_json())
    del data["model"]
    with pytest.raises(JobSpecError, match="model"):
        JobSpec.from_json(data)
    with pytest.raises(JobSpecError, match="model"):
        JobSpec.from_json(data | {"model": ""})


def test_unknown_field_is_rejected():
    """Extra fields are an error: a typo in a producer must not pass silently."""
    data = json.loads(_spec().to_json()) | {"colour": "blue"}
    with pytest.raises(JobSpecError, match="colour"):
        JobSpec.from_json(data)


def test_follow_ups_need_a_parent_and_a_fitting_strength():
    """Variations are strong|subtle, upscales subtle|creative, and both name their parent."""
    parent = Parent(job_id="abc", index=2)
    ok = _spec(kind=JobKind.VARIATION, strength=Strength.SUBTLE, parent=parent)
    assert ok.parent == parent
    with pytest.raises(ValueError, match="parent"):
        _spec(kind=JobKind.UPSCALE, strength=Strength.CREATIVE)
    with pytest.raises(ValueError, match="creative or subtle"):
        _spec(kind=JobKind.UPSCALE, strength=Strength.STRONG, parent=parent)
    with pytest.raises(ValueError, match="no parent"):
        _spec(parent=parent)


def test_out_of_range_values_are_rejected():
    """Seeds, indexes and prompt fields outside their ranges fail validation with the field named."""
    data = json.loads(_spec().to_json())
    data["seed"] = 2**32
    with pytest.raises(JobSpecError, match="seed"):
        JobSpec.from_json(data)
    with pytest.raises(JobSpecError, match="stylize"):
        JobSpec.from_json(json.loads(_spec().to_json()) | {"prompt": _prompt().model_dump() | {"stylize": 5000}})


def test_prompt_text_shows_weights():
    """A multi-prompt renders back in the :: syntax; a plain prompt stays plain."""
    multi = PromptFields(
        prompts=[WeightedPrompt(text="hot", weight=1), WeightedPrompt(text="dog", weight=2)], width=64, height=64
    )
    assert multi.text == "hot::1 dog::2"
    assert _prompt().text == "a lighthouse at dusk"


def test_stylize_lowers_guidance_monotonically():
    """Higher --stylize means lower guidance (looser prompt following), from 9 at 0 to 4 at 1000."""
    values = [guidance_for_stylize(s) for s in range(0, 1001, 50)]
    assert values[0] == 9.0 and values[-1] == 4.0 and guidance_for_stylize(100) == 7.0
    assert all(a >= b for a, b in itertools.pairwise(values))
    with pytest.raises(ValueError):
        guidance_for_stylize(1001)


def test_quality_scales_steps():
    """--quality multiplies the configured steps and never reaches zero."""
    assert [steps_for_quality(20, q) for q in (0.25, 0.5, 1, 2)] == [5, 10, 20, 40]
    assert steps_for_quality(1, 0.25) == 1


def test_imagine_spec_fills_seed_steps_and_guidance():
    """The prompt's seed and --relax win; steps follow --quality and guidance --stylize."""
    requester = Requester(user_id=1, channel_id=2)
    spec = imagine_spec(
        _prompt(seed=7, quality=2.0, stylize=0, mode=Mode.RELAX), requester, Mode.FAST, 20, model="sd1", seed=3
    )
    assert (spec.kind, spec.seed, spec.steps, spec.guidance, spec.mode) == (JobKind.IMAGINE, 7, 40, 9.0, Mode.RELAX)
    assert imagine_spec(_prompt(), requester, Mode.RELAX, 20, model="sd1", seed=3).seed == 3
    assert imagine_spec(_prompt(), requester, Mode.RELAX, 20, model="sd1").mode is Mode.RELAX


def test_imagine_spec_without_a_seed_draws_one():
    """Without --seed or a given seed each job gets its own random seed."""
    requester = Requester(user_id=1, channel_id=2)
    assert len({imagine_spec(_prompt(), requester, Mode.FAST, 20, model="sd1").seed for _ in range(5)}) > 1


def test_follow_up_spec_keeps_the_parents_prompt():
    """A follow-up is the requester's, names the parent image, keeps prompt and guidance; index 0 names image 1."""
    parent = imagine_spec(
        _prompt(quality=0.5, stylize=1000), Requester(user_id=1, channel_id=2), Mode.FAST, 20, model="sd1"
    )
    bob = Requester(user_id=9, channel_id=2)
    spec = follow_up_spec(parent, JobKind.VARIATION, Strength.STRONG, 3, bob, Mode.RELAX, 20)
    assert (spec.requester, spec.mode, spec.prompt, spec.guidance, spec.steps) == (
        bob,
        Mode.RELAX,
        parent.prompt,
        4.0,
        10,
    )
    assert spec.parent == Parent(job_id=parent.id, index=3) and spec.strength is Strength.STRONG
    assert spec.model == parent.model == "sd1"
    assert follow_up_spec(parent, JobKind.REROLL, None, 0, bob, Mode.FAST, 20).parent.index == 1
    with pytest.raises(ValueError, match="imagine"):
        follow_up_spec(parent, JobKind.IMAGINE, None, 1, bob, Mode.FAST, 20)


def test_follow_up_seeds():
    """An upscale keeps the parent's seed, variations and rerolls draw new ones, unless a seed is given."""
    parent = imagine_spec(_prompt(seed=7), Requester(user_id=1, channel_id=2), Mode.FAST, 20, model="sd1")
    requester = parent.requester
    assert follow_up_spec(parent, JobKind.UPSCALE, Strength.SUBTLE, 1, requester, Mode.FAST, 20).seed == 7
    rerolls = {follow_up_spec(parent, JobKind.REROLL, None, 0, requester, Mode.FAST, 20).seed for _ in range(5)}
    assert len(rerolls) > 1
    assert follow_up_spec(parent, JobKind.VARIATION, Strength.SUBTLE, 1, requester, Mode.FAST, 20, seed=5).seed == 5


def test_upscale_of_an_upscale_is_drawn_again_from_the_grid_cell():
    """Upscale on an upscale names the grid cell as its source (not the upscale), so sizes never double twice."""
    grid = imagine_spec(_prompt(seed=7), Requester(user_id=1, channel_id=2), Mode.FAST, 20, model="sd1")
    alice = grid.requester
    upscaled = follow_up_spec(grid, JobKind.UPSCALE, Strength.SUBTLE, 3, alice, Mode.FAST, 20)
    again = follow_up_spec(upscaled, JobKind.UPSCALE, Strength.CREATIVE, 1, alice, Mode.FAST, 20)
    assert again.parent == upscaled.parent == Parent(job_id=grid.id, index=3)
    assert (again.seed, again.strength, again.model) == (7, Strength.CREATIVE, "sd1")
    assert output_side(again) == output_side(upscaled) == 1024
    varied = follow_up_spec(upscaled, JobKind.VARIATION, Strength.STRONG, 1, alice, Mode.FAST, 20)
    assert varied.parent == Parent(job_id=upscaled.id, index=1) and output_side(varied) == 512

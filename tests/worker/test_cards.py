"""Model cards: JSON round trips, strictness, names and aliases."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from worker.cards import Capabilities, ModelCard
from worker.spec import SD_GUIDANCE, GuidanceCurve


def _card(**changes: object) -> ModelCard:
    fields: dict[str, object] = {
        "name": "sdxl",
        "aliases": ("6", "niji"),
        "family": "sdxl",
        "base_resolution": 1024,
        "size_step": 64,
        "max_side": 2048,
        "default_steps": 30,
        "guidance": SD_GUIDANCE,
    }
    return ModelCard.model_validate({**fields, **changes})


def test_card_round_trips_as_json() -> None:
    """A card read back from its JSON is the same card."""
    card = _card(capabilities=Capabilities(tile=False, inpaint=True))
    assert ModelCard.model_validate_json(card.model_dump_json()) == card


def test_unknown_fields_are_refused() -> None:
    """A newer worker's card with a field this bot does not know is refused, not half-read."""
    with pytest.raises(ValidationError):
        ModelCard.model_validate_json(_card().model_dump_json().replace('"family"', '"flavour":1,"family"'))


def test_answers_to_name_and_aliases_case_insensitively() -> None:
    """``--v NIJI`` finds the card whose aliases include niji; an unknown name does not."""
    card = _card()
    assert card.answers_to("SDXL") and card.answers_to(" niji ") and card.answers_to("6")
    assert not card.answers_to("5.2")


def test_guidance_curve_is_piecewise_linear() -> None:
    """A family's curve gives its three points exactly and interpolates between them; a flat curve stays flat."""
    curve = GuidanceCurve(at_0=5.0, at_100=3.5, at_1000=2.0)
    assert (curve.at(0), curve.at(100), curve.at(1000), curve.at(550)) == (5.0, 3.5, 2.0, 2.75)
    assert GuidanceCurve(at_0=0, at_100=0, at_1000=0).at(700) == 0
    with pytest.raises(ValueError, match="outside"):
        curve.at(1001)

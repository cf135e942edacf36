"""Loading any family: detection by pipeline class, clear refusals by name, settings that shape the card."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from models import families
from models.engine import Engine
from models.loader import ModelLoadError
from tests.models.families.conftest import settings_for

Folders = Callable[[str], Path]


@pytest.mark.parametrize(
    ("variant", "pipeline"),
    [
        ("sd3.5-large", "StableDiffusion3Pipeline"),
        ("flux-schnell", "FluxPipeline"),
        ("flux2-klein-distilled", "Flux2KleinPipeline"),
        ("z-image", "ZImagePipeline"),
    ],
)
def test_family_is_the_pipeline_class(variant: str, pipeline: str, family_dir: Folders) -> None:
    """model_index.json's class names the family before loading; the loaded pipeline is of that class."""
    index = json.loads((family_dir(variant) / "model_index.json").read_text())
    registration = families.by_class_name(index["_class_name"])
    assert index["_class_name"] == pipeline and registration is not None and registration.transformer
    engine = Engine.load(settings_for(family_dir(variant)))
    assert type(engine.adapter.pipe).__name__ == pipeline
    assert families.for_pipeline(engine.adapter.pipe) is registration


def test_an_unsupported_family_is_refused_by_name_before_its_weights_load(tmp_path: Path) -> None:
    """A FLUX.2 [dev] folder (Flux2Pipeline) is refused at once, naming its class and the families that work."""
    folder = tmp_path / "flux2-dev"
    folder.mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "Flux2Pipeline"}))
    started = time.monotonic()
    with pytest.raises(ModelLoadError, match=r"is a Flux2Pipeline, a pipeline family this engine does not run") as info:
        Engine.load(settings_for(folder))
    assert "FLUX.1" in info.value.message and "Z-Image" in info.value.message
    assert time.monotonic() - started < 5


def test_a_single_file_of_a_family_diffusers_cannot_read_so_is_refused(family_dir: Folders, tmp_path: Path) -> None:
    """diffusers reads no single-file FLUX.2 klein checkpoints: the error says so and points to a folder."""
    checkpoint = tmp_path / "klein.safetensors"
    checkpoint.write_bytes(b"")
    settings = settings_for(checkpoint, single_file_config=str(family_dir("flux2-klein-distilled")))
    with pytest.raises(ModelLoadError, match=r"no single-file FLUX\.2 klein checkpoints; use a diffusers folder"):
        Engine.load(settings)


def test_a_base_resolution_off_the_size_step_is_a_load_error(family_dir: Folders) -> None:
    """IMAGINE_BASE_RESOLUTION must be a multiple of the family's 16 px step."""
    with pytest.raises(ModelLoadError, match=r"base resolution 72 is not a multiple of .* 16"):
        Engine.load(settings_for(family_dir("z-image"), base_resolution=72))


def test_the_card_follows_the_settings(family_dir: Folders, tmp_path: Path) -> None:
    """Aliases, IMAGINE_STEPS and IMAGINE_BASE_RESOLUTION show on the card; sizes step by 16 px; max side 4 × base."""
    folder = tmp_path / "my flux"
    shutil.copytree(family_dir("flux-schnell"), folder)
    settings = settings_for(folder, steps=3, base_resolution=128, aliases={"schnell": str(folder), "other": "x/y"})
    card = Engine.load(settings).card()
    assert (card.name, card.aliases) == (str(folder), ("schnell",))
    assert (card.default_steps, card.base_resolution, card.size_step, card.max_side) == (3, 128, 16, 512)
    assert card.answers_to("Schnell")


def test_sd3_positions_bound_the_longest_side(family_dir: Folders) -> None:
    """SD3's positional table (64 patches of 16 px in the tiny model) caps the card's max side at 1024 px."""
    card = Engine.load(settings_for(family_dir("sd3.5-medium"), base_resolution=None)).card()
    assert card.max_side == 1024 < 4 * card.base_resolution

"""``imagine generate | vary | upscale`` on a diffusers folder of each transformer family, sized by its family."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from cli import main
from tests.models.tiny_families.conftest import CASES_BY_ID
from worker.sizes import Aspect, size_for_aspect

# One variant per family; the tiny models run at a 64 px base (IMAGINE_BASE_RESOLUTION) instead of 1024.
VARIANTS = ["sd3.5-medium", "flux-schnell", "flux2-klein-distilled", "z-image"]
BASE = 64


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli-families")
    return {variant: CASES_BY_ID[variant].save(root / variant) for variant in VARIANTS}


def _run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(args) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("variant", VARIANTS)
def test_generate_vary_upscale_on_a_family_folder(
    variant: str, folders: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """IMAGINE_MODEL=<folder>: a 2:1 grid at the family's 16 px steps around its base, then a variation and an
    upscale of one cell, each reported as one JSON object."""
    monkeypatch.setenv("IMAGINE_MODEL", str(folders[variant]))
    monkeypatch.setenv("IMAGINE_DEVICE", "cpu")
    monkeypatch.setenv("IMAGINE_STEPS", "2")
    monkeypatch.setenv("IMAGINE_BASE_RESOLUTION", str(BASE))
    grid = _run_json(["generate", "a red fox --ar 2:1 --seed 77", "-o", str(tmp_path / "a"), "--json"], capsys)
    width, height = grid["width"], grid["height"]
    assert (grid["seed"], grid["model"]) == (77, str(folders[variant]))
    assert width > height and width % 16 == 0 and height % 16 == 0
    # At a 64 px base a 16 px step is coarse: worker/sizes widens the ±10 % area window until a size has the ratio.
    assert (width, height) == size_for_aspect(Aspect(2, 1), BASE, 16) == (96, 48)
    assert [Path(f).name for f in grid["files"]] == ["grid.png", "1.png", "2.png", "3.png", "4.png"]

    cell = tmp_path / "a" / "2.png"
    varied = _run_json(["vary", str(cell), "--strong", "-o", str(tmp_path / "b"), "--json"], capsys)
    assert (varied["width"], varied["height"], len(varied["files"])) == (width, height, 5)
    with Image.open(tmp_path / "b" / "1.png") as image:
        assert image.text["prompt"] == "a red fox"

    upscaled = _run_json(["upscale", str(cell), "-o", str(tmp_path / "c"), "--json"], capsys)
    assert (upscaled["width"], upscaled["height"]) == (2 * width, 2 * height)


def test_a_flag_the_family_cannot_honour_exits_1(folders: dict[str, Path], monkeypatch, capsys, tmp_path) -> None:
    """--tile on FLUX.1 fails the job with the family's reason (exit 1), not a silently plain image."""
    monkeypatch.setenv("IMAGINE_MODEL", str(folders["flux-schnell"]))
    monkeypatch.setenv("IMAGINE_DEVICE", "cpu")
    monkeypatch.setenv("IMAGINE_BASE_RESOLUTION", str(BASE))
    assert main(["generate", "a red fox --tile", "-o", str(tmp_path)]) == 1
    assert "FLUX.1 [schnell] cannot honour --tile: it cannot make seamless tiles" in capsys.readouterr().err

"""``imagine generate | vary | upscale`` run the engine locally, write the files, and report them as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from cli import main
from models import loader
from models.tiny import tiny_sd_pipeline
from worker.images import MIN_SIDE


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-model") / "tiny"
    tiny_sd_pipeline().save_pretrained(path)
    return path


@pytest.fixture(autouse=True)
def tiny_engine(monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> None:
    # The tiny model stands in for the demo model: its 128 px base keeps these runs quick on a CPU.
    monkeypatch.setattr(loader, "DEMO_MODEL_DIR", tiny_model)
    monkeypatch.setenv("IMAGINE_MODEL", "demo")
    monkeypatch.setenv("IMAGINE_DEVICE", "cpu")
    monkeypatch.setenv("IMAGINE_STEPS", "2")


def _run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_generate_writes_grid_and_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """generate parses the prompt, uses its seed, writes grid.png and 1–4.png, and prints one JSON object."""
    out = _run_json(["generate", "a red fox --ar 4:1 --seed 77", "-o", str(tmp_path), "--json"], capsys)
    assert out["seed"] == 77 and out["width"] > out["height"]
    assert [Path(f).name for f in out["files"]] == ["grid.png", "1.png", "2.png", "3.png", "4.png"]
    assert set(out) == {"seed", "width", "height", "files", "seconds", "model"}
    with Image.open(tmp_path / "1.png") as image:
        assert image.size == (out["width"], out["height"])
        assert image.text["prompt"] == "a red fox"


def test_vary_reads_the_prompt_from_the_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """vary --subtle makes four images the size of the source, prompted by the source's stored prompt."""
    first = _run_json(["generate", "a blue bird --seed 5", "-o", str(tmp_path / "a"), "--json"], capsys)
    source = tmp_path / "a" / "2.png"
    out = _run_json(["vary", str(source), "--subtle", "-o", str(tmp_path / "b"), "--json"], capsys)
    assert (out["width"], out["height"]) == (first["width"], first["height"])
    assert len(out["files"]) == 5
    with Image.open(tmp_path / "b" / "1.png") as image:
        assert image.text["prompt"] == "a blue bird"


def test_upscale_doubles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """upscale writes one image at twice the size."""
    Image.new("RGB", (96, 64), "orange").save(tmp_path / "small.png")
    out = _run_json(["upscale", str(tmp_path / "small.png"), "--creative", "-o", str(tmp_path), "--json"], capsys)
    assert (out["width"], out["height"]) == (192, 128)
    assert [Path(f).name for f in out["files"]] == ["1.png"]


def test_unreadable_image_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An image that cannot be read exits 2 with its path in the message."""
    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello")
    assert main(["vary", str(bad), "--strong"]) == 2
    assert "not-an-image.png" in capsys.readouterr().err


def test_bad_prompt_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A prompt that does not parse exits 2 and writes nothing."""
    assert main(["generate", "a cat --ar banana", "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_upscale_of_the_smallest_accepted_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An image of MIN_SIDE pixels a side (one VAE latent cell) upscales: the minimum is one the engine can take."""
    Image.new("RGB", (MIN_SIDE, MIN_SIDE), "orange").save(tmp_path / "tiny.png")
    out = _run_json(["upscale", str(tmp_path / "tiny.png"), "-o", str(tmp_path), "--json"], capsys)
    assert (out["width"], out["height"]) == (2 * MIN_SIDE, 2 * MIN_SIDE)


def test_image_too_small_exits_2_before_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 7×7 image exits 2 with a message naming its size, not a validation traceback."""
    Image.new("RGB", (MIN_SIDE - 1, MIN_SIDE - 1), "orange").save(tmp_path / "tiny.png")
    assert main(["upscale", str(tmp_path / "tiny.png"), "-o", str(tmp_path / "out")]) == 2
    assert f"at least {MIN_SIDE} pixels" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

"""Loading models: folders, the demo fallback, families, shared img2img weights, and clear load errors."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from models import loader
from models.engine import Engine
from models.loader import ModelLoadError, detect_family
from models.settings import EngineSettings
from tests.models.conftest import distance, make_spec, tiny_settings
from tests.models.ldm_checkpoint import save_ldm_checkpoint


def test_loads_a_diffusers_folder_as_sd1(engine: Engine, sd_dir: Path) -> None:
    """A saved SD1-family folder loads on the CPU in fp32 with its family's base resolution."""
    assert engine.name == str(sd_dir)
    assert (engine.device, engine.dtype, engine.family) == ("cpu", "fp32", "sd1")
    assert (engine.base_resolution, engine.size_step) == (512, 64)
    assert engine.load_seconds > 0


def test_loads_an_sdxl_folder_as_sdxl(sdxl_dir: Path) -> None:
    """An SDXL-family folder (two text encoders, text_time conditioning) is detected as SDXL at 1024 px."""
    engine = Engine.load(tiny_settings(sdxl_dir))
    assert (engine.family, engine.base_resolution) == ("sdxl", 1024)


def test_scheduler_is_dpm_solver_plus_plus(engine: Engine) -> None:
    """The default scheduler is DPM-Solver++ with Karras sigmas, shared by both pipelines."""
    scheduler = engine.model.pipe.scheduler
    assert type(scheduler).__name__ == "DPMSolverMultistepScheduler"
    assert scheduler.config.algorithm_type == "dpmsolver++"
    assert scheduler.config.use_karras_sigmas
    assert engine.model.img2img.scheduler is scheduler


def test_img2img_shares_the_same_weights(engine: Engine) -> None:
    """The img2img pipeline reuses the text-to-image modules: same tensor storage, no second copy."""
    pipe, img2img = engine.model.pipe, engine.model.img2img
    for name in ("unet", "vae", "text_encoder"):
        ours, theirs = getattr(pipe, name), getattr(img2img, name)
        assert ours is theirs
        for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
            assert a.data_ptr() == b.data_ptr()


@pytest.mark.parametrize(
    ("cross_attention_dim", "addition", "family"),
    [(768, None, "sd1"), (1024, None, "sd2"), (2048, "text_time", "sdxl"), (32, None, "sd1")],
)
def test_family_from_unet_config(cross_attention_dim: int, addition: str | None, family: str) -> None:
    """The family follows the UNet's text width (768 SD1, 1024 SD2, 2048 SDXL) and SDXL's added conditioning."""
    config = SimpleNamespace(cross_attention_dim=cross_attention_dim, addition_embed_type=addition)
    assert detect_family(SimpleNamespace(unet=SimpleNamespace(config=config))) == family


def test_missing_demo_model_is_a_load_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """MODEL=demo with no models/demo_model/ is a load error saying how to get the model back, not a stand-in."""
    monkeypatch.setattr(loader, "DEMO_MODEL_DIR", tmp_path / "missing")
    with pytest.raises(ModelLoadError, match="demo model is missing") as caught:
        Engine.load(tiny_settings("demo"))
    assert "git checkout -- models/demo_model" in caught.value.message
    assert "python -m models.demo.train" in caught.value.message


def test_aliases_name_models(sd_dir: Path) -> None:
    """An alias resolves to the model it stands for."""
    engine = Engine.load(tiny_settings("tiny", aliases={"tiny": str(sd_dir)}))
    assert engine.name == str(sd_dir)


def test_aliases_parse_from_json_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """IMAGINE_ALIASES is a JSON object."""
    monkeypatch.setenv("IMAGINE_ALIASES", '{"xl": "stabilityai/stable-diffusion-xl-base-1.0"}')
    monkeypatch.setenv("IMAGINE_MODEL", "xl")
    assert EngineSettings().resolve_model() == "stabilityai/stable-diffusion-xl-base-1.0"


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    """A path that does not exist fails with ModelLoadError naming it."""
    missing = tmp_path / "nowhere"
    with pytest.raises(ModelLoadError, match="nowhere"):
        Engine.load(tiny_settings(missing))


def test_folder_without_model_index_is_a_clear_error(tmp_path: Path) -> None:
    """A folder that is not a diffusers pipeline names the missing model_index.json."""
    with pytest.raises(ModelLoadError, match=r"model_index\.json"):
        Engine.load(tiny_settings(tmp_path))


def test_broken_folder_is_a_clear_error(tmp_path: Path, sd_dir: Path) -> None:
    """A pipeline folder with a component missing fails with ModelLoadError, not a library traceback."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text((sd_dir / "model_index.json").read_text())
    with pytest.raises(ModelLoadError, match="broken"):
        Engine.load(tiny_settings(broken))


def test_uncached_hub_id_offline_fails_fast(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A hub id that is not cached, with HF_HUB_OFFLINE=1, fails within seconds with a clear error."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    started = time.monotonic()
    with pytest.raises(ModelLoadError, match=r"someone/not-cached.*HF_HUB_OFFLINE"):
        Engine.load(tiny_settings("someone/not-cached"))
    assert time.monotonic() - started < 10


def test_single_file_needs_a_config(tmp_path: Path) -> None:
    """A single-file checkpoint without IMAGINE_SINGLE_FILE_CONFIG says which setting is missing."""
    checkpoint = tmp_path / "model.safetensors"
    checkpoint.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="IMAGINE_SINGLE_FILE_CONFIG"):
        Engine.load(tiny_settings(checkpoint))


def test_missing_single_file_is_a_clear_error(tmp_path: Path) -> None:
    """A checkpoint path that does not exist is named in the error."""
    with pytest.raises(ModelLoadError, match=r"model\.safetensors.*does not exist"):
        Engine.load(tiny_settings(tmp_path / "model.safetensors"))


def test_unavailable_device_is_a_load_error() -> None:
    """Asking for CUDA on a machine without it is a ModelLoadError, not a crash at the first job."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ModelLoadError, match="CUDA"):
        Engine.load(EngineSettings(model="demo", device="cuda"))


def test_single_file_checkpoint_loads_with_a_local_config(engine: Engine, sd_dir: Path, tmp_path: Path) -> None:
    """An original-layout .safetensors checkpoint plus a config folder loads and gives the folder's pixels."""
    checkpoint = tmp_path / "tiny.safetensors"
    save_ldm_checkpoint(engine.model.pipe, checkpoint)
    single = Engine.load(tiny_settings(checkpoint, single_file_config=str(sd_dir)))
    assert (single.name, single.family) == (str(checkpoint), "sd1")
    spec = make_spec(seed=3)
    ours, theirs = single.run(spec).images, engine.run(spec).images
    assert all(distance(a, b) == 0 for a, b in zip(ours, theirs, strict=True))


def test_single_file_with_wrong_contents_is_a_clear_error(sd_dir: Path, tmp_path: Path) -> None:
    """A checkpoint file that is not a model names the file in a ModelLoadError."""
    checkpoint = tmp_path / "junk.safetensors"
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match=r"junk\.safetensors"):
        Engine.load(tiny_settings(checkpoint, single_file_config=str(sd_dir)))


def test_hub_download_runs_under_short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """An uncached hub id is tried on the hub with hub_timeout-second request timeouts, restored afterwards."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    saved = constants.HF_HUB_ETAG_TIMEOUT
    seen: list[tuple[bool, float]] = []

    def fake_from_pretrained(name: str, **kwargs: object) -> None:
        seen.append((bool(kwargs.get("local_files_only")), constants.HF_HUB_ETAG_TIMEOUT))
        raise OSError("Connection timed out")

    monkeypatch.setattr(loader.DiffusionPipeline, "from_pretrained", fake_from_pretrained)
    with pytest.raises(ModelLoadError, match=r"someone/remote.*could not be downloaded: Connection timed out"):
        Engine.load(tiny_settings("someone/remote", hub_timeout=2.5))
    assert seen == [(True, saved), (False, 2.5)]
    assert saved == constants.HF_HUB_ETAG_TIMEOUT

"""Load the configured model as a diffusers pipeline of a supported family, wrapped in its family's adapter.

``MODEL`` may be ``demo`` (the bundled model in ``models/demo_model/``; an error if it is missing), a local
diffusers folder, a single-file ``.safetensors`` checkpoint (with configs from ``single_file_config``), or a
hub id (the local Hugging Face cache first, then the hub with short timeouts unless ``HF_HUB_OFFLINE``).
The family (models/families/) is known from the pipeline class: model_index.json's ``_class_name`` before the
weights are read (it picks the dtype), then the loaded pipeline itself. Every failure is a ``ModelLoadError``
naming what was asked for and what was missing; an unsupported pipeline names its class and the families that work.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

# From the defining modules: to a type checker, diffusers' top-level names are its placeholder classes for missing
# backends (diffusers/__init__.py imports those first, in a try/except), which have no attributes.
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline

from models import device as devices
from models import families
from models.device import Placement
from models.families import FamilyAdapter, Registration
from models.families.sd import base_resolution, detect_family
from models.settings import EngineSettings

__all__ = ["LoadedModel", "ModelLoadError", "adopt", "base_resolution", "detect_family", "load", "prepare"]

logger = logging.getLogger(__name__)

DEMO_MODEL_DIR = Path(__file__).parent / "demo_model"
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


class ModelLoadError(Exception):
    """The model could not be loaded; ``message`` names the model and what was missing."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class LoadedModel:
    """A loaded model: its family's adapter (text-to-image, img2img and inpaint pipelines sharing the modules)."""

    name: str
    adapter: FamilyAdapter
    placement: Placement
    # The scheduler the model shipped with, before the engine's replaced it (the benchmark's "stock" baseline).
    shipped_scheduler: Any = None

    @property
    def pipe(self) -> Any:
        return self.adapter.pipe

    @property
    def img2img(self) -> Any:
        return self.adapter.img2img

    @property
    def inpaint(self) -> Any:
        return self.adapter.inpaint

    @property
    def family(self) -> str:
        return self.adapter.facts.family

    @property
    def base_resolution(self) -> int:
        return self.adapter.facts.base_resolution


def load(settings: EngineSettings) -> LoadedModel:
    """Load ``settings.model`` onto the configured device; raises ModelLoadError."""
    name = settings.resolve_model()
    # 1. The family, from model_index.json when it can be read before the weights (refused before they load).
    class_name = _index_class_name(name, settings)
    expected = None if class_name is None else families.by_class_name(class_name)
    if class_name is not None and expected is None:
        raise _unsupported(name, class_name)
    # 2. Where it runs: transformer families take bf16 on any accelerator that has it.
    try:
        placement = devices.choose(settings, transformer=expected is not None and expected.transformer)
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from exc
    # 3. Read the weights (in the target dtype, so fp16/bf16 never hold an fp32 copy).
    pipe = _read(name, settings, placement.torch_dtype)
    family = families.for_pipeline(pipe)
    if family is None:
        raise _unsupported(name, type(pipe).__name__)
    return prepare(pipe, name, settings, placement, family)


def adopt(pipe: DiffusionPipeline, name: str, settings: EngineSettings) -> LoadedModel:
    """A pipeline built in code (the benchmark's full-size models), placed as ``load`` places one it read."""
    family = families.for_pipeline(pipe)
    if family is None:
        raise _unsupported(name, type(pipe).__name__)
    try:
        placement = devices.choose(settings, transformer=family.transformer)
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from exc
    return prepare(pipe, name, settings, placement, family)


def _unsupported(name: str, class_name: str) -> ModelLoadError:
    return ModelLoadError(
        f"model {name!r} is a {class_name}, a pipeline family this engine does not run; it runs {families.names()}"
    )


def prepare(
    pipe: DiffusionPipeline, name: str, settings: EngineSettings, placement: Placement, family: Registration
) -> LoadedModel:
    """Place a pipeline of ``family`` on ``placement`` and wrap it in the family's adapter (also for pipelines built
    in code, as the benchmark's full-size models are)."""
    # 1. Place it: device, dtype, and the fast paths of each device.
    modules: Any = pipe  # diffusers registers a pipeline's modules (unet, transformer, vae) at run time
    denoiser = "unet" if getattr(modules, "unet", None) is not None else "transformer"
    if pipe.device.type != placement.device:  # (diffusers warns needlessly on some modules' no-op moves)
        pipe.to(placement.device)
    if getattr(modules, denoiser).dtype != placement.torch_dtype:  # only models built in code arrive in fp32
        pipe.to(dtype=placement.torch_dtype)
    pipe.set_progress_bar_config(disable=True)
    if placement.device == "cuda" and denoiser == "unet":
        # Attention already runs through torch SDPA (diffusers' default processor); channels_last speeds convs.
        modules.unet.to(memory_format=torch.channels_last)
        modules.vae.to(memory_format=torch.channels_last)
    if settings.compile_unet:
        # Default mode: compiles in about a minute; sizes after the first compile as dynamic shapes, so the many
        # aspect ratios do not each trigger a recompile. Every pipeline of the family gets the compiled module.
        setattr(modules, denoiser, torch.compile(getattr(modules, denoiser)))

    # 2. The family's adapter: its scheduler, its img2img and inpaint pipelines on the same modules, its facts.
    shipped_scheduler = modules.scheduler
    adapter = family.adapter(pipe, settings, name)
    facts = adapter.facts
    logger.info(
        "loaded %s (%s, %s, base %spx) on %s/%s",
        name, facts.label, facts.family, facts.base_resolution, placement.device, placement.dtype,
    )  # fmt: skip
    return LoadedModel(name=name, adapter=adapter, placement=placement, shipped_scheduler=shipped_scheduler)


def _index_class_name(name: str, settings: EngineSettings) -> str | None:
    """The pipeline class model_index.json names, read before the weights; None when it cannot be read yet."""
    if name == "demo":
        index = DEMO_MODEL_DIR / "model_index.json"
    elif Path(name).expanduser().suffix in (".safetensors", ".ckpt"):
        # A single file's family is its config folder's (a hub id there is read when the file is).
        if settings.single_file_config is None:
            return None
        index = Path(settings.single_file_config).expanduser() / "model_index.json"
    elif Path(name).expanduser().is_dir():
        index = Path(name).expanduser() / "model_index.json"
    elif _HUB_ID.match(name):
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name, "model_index.json")  # the local cache only, never the hub
        if not isinstance(cached, str):
            return None
        index = Path(cached)
    else:
        return None
    try:
        class_name = json.loads(index.read_text()).get("_class_name")
    except (OSError, ValueError):
        return None
    return class_name if isinstance(class_name, str) else None


def _read(name: str, settings: EngineSettings, dtype: torch.dtype) -> DiffusionPipeline:
    if name == "demo":
        if not (DEMO_MODEL_DIR / "model_index.json").is_file():
            raise ModelLoadError(
                f"the demo model is missing ({DEMO_MODEL_DIR} has no model_index.json). It ships with the "
                "repository: restore it with `git checkout -- models/demo_model`, retrain it with "
                "`python -m models.demo.train` (about 110 minutes on 2 CPU cores), or set IMAGINE_MODEL to "
                "another model"
            )
        return _from_folder(DEMO_MODEL_DIR, dtype)
    path = Path(name).expanduser()
    if path.suffix in (".safetensors", ".ckpt"):
        return _from_single_file(path, settings, dtype)
    if path.is_dir():
        return _from_folder(path, dtype)
    if _HUB_ID.match(name) and not path.exists():
        return _from_hub(name, settings, dtype)
    raise ModelLoadError(f"model {name!r}: no such folder or file, and not a hub id (owner/name)")


def _from_folder(path: Path, dtype: torch.dtype) -> DiffusionPipeline:
    index = path / "model_index.json"
    if not index.is_file():
        raise ModelLoadError(f"model folder {str(path)!r} has no model_index.json (not a diffusers pipeline)")
    try:
        return DiffusionPipeline.from_pretrained(path, dtype=dtype, **_no_safety_checker(index))
    except Exception as exc:  # diffusers, safetensors and torch raise many types here; all mean "not loadable"
        raise ModelLoadError(f"model folder {str(path)!r} could not be loaded: {_first_line(exc)}") from exc


def _from_single_file(path: Path, settings: EngineSettings, dtype: torch.dtype) -> DiffusionPipeline:
    if not path.is_file():
        raise ModelLoadError(f"checkpoint {str(path)!r} does not exist")
    config = settings.single_file_config
    if config is None:
        raise ModelLoadError(
            f"checkpoint {str(path)!r} needs IMAGINE_SINGLE_FILE_CONFIG: a diffusers folder of the same family "
            "(its configs say how to read the weights; nothing is downloaded)"
        )
    config_dir = Path(config).expanduser()
    pipeline_class: Any = StableDiffusionPipeline
    kwargs: dict[str, Any] = {}
    if (config_dir / "model_index.json").is_file():
        class_name = json.loads((config_dir / "model_index.json").read_text()).get("_class_name", "")
        family = families.by_class_name(class_name)
        if family is None:
            raise ModelLoadError(
                f"checkpoint {str(path)!r}: its config folder is a {class_name}, a pipeline family this engine does "
                f"not run; it runs {families.names()}"
            )
        pipeline_class = next(cls for cls in family.pipelines if cls.__name__ == class_name)
        if not hasattr(pipeline_class, "from_single_file"):
            raise ModelLoadError(
                f"checkpoint {str(path)!r}: diffusers reads no single-file {family.name} checkpoints; "
                "use a diffusers folder or hub id"
            )
        kwargs = _no_safety_checker(config_dir / "model_index.json")
    try:
        return pipeline_class.from_single_file(
            str(path), config=str(config_dir) if config_dir.exists() else config, dtype=dtype,
            local_files_only=True, **kwargs,
        )  # fmt: skip
    except Exception as exc:  # diffusers, safetensors and torch raise many types here; all mean "not loadable"
        raise ModelLoadError(f"checkpoint {str(path)!r} could not be loaded: {_first_line(exc)}") from exc


def _from_hub(name: str, settings: EngineSettings, dtype: torch.dtype) -> DiffusionPipeline:
    # The local cache first: a worker restart must not depend on the hub being up.
    try:
        return DiffusionPipeline.from_pretrained(name, dtype=dtype, local_files_only=True)
    except (OSError, ValueError) as exc:
        cache_error = _first_line(exc)
    if _hub_offline():
        raise ModelLoadError(f"hub model {name!r} is not in the local cache and HF_HUB_OFFLINE is set ({cache_error})")
    logger.info("hub model %s not cached; downloading (timeout %ss)", name, settings.hub_timeout)
    try:
        with _hub_timeouts(settings.hub_timeout):
            return DiffusionPipeline.from_pretrained(name, dtype=dtype)
    except Exception as exc:  # the hub client raises many types (HTTP, OS, timeouts); all mean "not loadable"
        raise ModelLoadError(
            f"hub model {name!r} is not cached and could not be downloaded: {_first_line(exc)}"
        ) from exc


def _hub_offline() -> bool:
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    return env or bool(constants.HF_HUB_OFFLINE)


@contextlib.contextmanager
def _hub_timeouts(seconds: float) -> Iterator[None]:
    # huggingface_hub reads these module constants on every request, so a scoped override bounds each call.
    from huggingface_hub import constants

    saved = constants.HF_HUB_ETAG_TIMEOUT, constants.HF_HUB_DOWNLOAD_TIMEOUT
    # huggingface_hub annotates both as int, but hands them to its HTTP client as float timeouts.
    constants.HF_HUB_ETAG_TIMEOUT = constants.HF_HUB_DOWNLOAD_TIMEOUT = seconds  # type: ignore[assignment]  # huggingface_hub annotates these as int; they are float timeouts
    try:
        yield
    finally:
        constants.HF_HUB_ETAG_TIMEOUT, constants.HF_HUB_DOWNLOAD_TIMEOUT = saved


def _no_safety_checker(index: Path) -> dict[str, Any]:
    # Images are decoded by the engine, never by the pipeline, so a shipped safety checker would only cost
    # memory; moderation belongs to the bot. Only SD1/2 pipelines take these arguments.
    if "safety_checker" in json.loads(index.read_text()):
        return {"safety_checker": None, "requires_safety_checker": False}
    return {}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]

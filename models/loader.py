"""Load the configured model as a Stable Diffusion pipeline, plus an img2img pipeline on the same weights.

``MODEL`` may be ``demo`` (the bundled model in ``models/demo_model/``; an error if it is missing), a local
diffusers folder, a single-file ``.safetensors`` checkpoint (with configs from ``single_file_config``), or a
hub id (the local Hugging Face cache first, then the hub with short timeouts unless ``HF_HUB_OFFLINE``).
Every failure is a ``ModelLoadError`` naming what was asked for and what was missing.
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
from diffusers.pipelines.auto_pipeline import AutoPipelineForImage2Image
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline
from diffusers.pipelines.stable_diffusion_xl.pipeline_stable_diffusion_xl import StableDiffusionXLPipeline
from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler

from models.device import Placement
from models.settings import EngineSettings
from worker.sizes import BASE_RESOLUTION

logger = logging.getLogger(__name__)

DEMO_MODEL_DIR = Path(__file__).parent / "demo_model"
SUPPORTED = (StableDiffusionPipeline, StableDiffusionXLPipeline)
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


class ModelLoadError(Exception):
    """The model could not be loaded; ``message`` names the model and what was missing."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class LoadedModel:
    """A loaded text-to-image pipeline and its img2img twin sharing the same modules."""

    name: str
    pipe: StableDiffusionPipeline | StableDiffusionXLPipeline
    img2img: DiffusionPipeline
    family: str
    base_resolution: int
    # The scheduler the model shipped with, before DPM-Solver++ replaced it (the benchmark's "stock" baseline).
    shipped_scheduler: Any = None


def load(settings: EngineSettings, placement: Placement) -> LoadedModel:
    """Load ``settings.model`` onto ``placement``; raises ModelLoadError."""
    name = settings.resolve_model()
    # 1. Read the weights (in the target dtype, so fp16/bf16 never hold an fp32 copy).
    pipe = _read(name, settings, placement.torch_dtype)
    if not isinstance(pipe, SUPPORTED):
        raise ModelLoadError(f"model {name!r} is a {type(pipe).__name__}; only Stable Diffusion 1/2 and SDXL work")
    family = "demo" if name == "demo" else detect_family(pipe)

    # 2. Place it: device, dtype, and the fast paths of each device.
    pipe.to(placement.device)
    if pipe.unet.dtype != placement.torch_dtype:  # only the in-code tiny model arrives in fp32
        pipe.to(dtype=placement.torch_dtype)
    pipe.set_progress_bar_config(disable=True)
    if placement.device == "cuda":
        # Attention already runs through torch SDPA (diffusers' default processor); channels_last speeds convs.
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
    if settings.compile_unet:
        # Default mode: compiles in about a minute; sizes after the first compile as dynamic shapes, so the many
        # aspect ratios do not each trigger a recompile. Both pipelines get the compiled module (step 4).
        pipe.unet = torch.compile(pipe.unet)

    shipped_scheduler = pipe.scheduler
    # 3. DPM-Solver++ (2M): good pictures in ~20 steps, deterministic (no noise injected while sampling).
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(
        pipe.scheduler.config, algorithm_type="dpmsolver++", use_karras_sigmas=settings.karras_sigmas
    )

    # 4. The img2img pipeline reuses every module object: one copy of the weights in memory.
    img2img = AutoPipelineForImage2Image.from_pipe(pipe)
    img2img.set_progress_bar_config(disable=True)
    base = base_resolution(family, pipe)
    logger.info("loaded %s (%s, base %spx) on %s/%s", name, family, base, placement.device, placement.dtype)
    return LoadedModel(
        name=name, pipe=pipe, img2img=img2img, family=family, base_resolution=base, shipped_scheduler=shipped_scheduler
    )


def detect_family(pipe: DiffusionPipeline) -> str:
    """ "sd1", "sd2" or "sdxl", from the pipeline class and the UNet's conditioning."""
    config = pipe.unet.config
    if isinstance(pipe, StableDiffusionXLPipeline) or config.addition_embed_type == "text_time":
        return "sdxl"
    if config.cross_attention_dim == 2048:
        return "sdxl"
    if config.cross_attention_dim == 1024:
        return "sd2"
    # 768 is SD1.x; anything else (custom or toy widths) is treated as SD1-like.
    return "sd1"


def base_resolution(family: str, pipe: DiffusionPipeline) -> int:
    """The family's native size; SD2 comes as 768 px (v) and 512 px (base) models, told apart by the UNet."""
    if family == "sd2" and pipe.unet.config.sample_size * pipe.vae_scale_factor == 512:
        return 512
    return BASE_RESOLUTION[family]


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
    pipeline_class: type[StableDiffusionPipeline | StableDiffusionXLPipeline] = StableDiffusionPipeline
    kwargs: dict[str, Any] = {}
    if (config_dir / "model_index.json").is_file():
        index = json.loads((config_dir / "model_index.json").read_text())
        if index.get("_class_name") == "StableDiffusionXLPipeline":
            pipeline_class = StableDiffusionXLPipeline
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

"""The generation engine the worker calls: one loaded model, and ``run(spec)`` for every job kind.

* imagine / reroll: four images in one batched denoising run (CFG batched too), cell i from seed ``seed + i``
  so any cell can be regenerated alone; then a 2×2 grid.
* variation: four images by img2img from the source cell; strength 0.85 (strong: new composition, same
  subject and palette) or 0.5 (subtle: same composition, new details).
* upscale: one image at 2× per side: Lanczos, then img2img refinement at strength 0.25 (subtle: sharpen what is
  there) or 0.45 (creative: invent new fine detail), with VAE tiling for large outputs.

Steps and guidance are the spec's: the bot (and ``imagine generate``) fill ``spec.steps`` with
``steps_for_quality(IMAGINE_STEPS, --quality)`` and ``spec.guidance`` from --stylize, so a kept spec regenerates
the same pixels even after the settings change. The prompt flags are applied in models/prompting.py (--no, ``::``
weights, --stylize, --style raw, --chaos), models/sampling.py (--stop) and models/tiling.py (--tile).

``Engine`` keeps the worker's engine contract (worker/engine.py): it raises the worker's ``Cancelled`` and
``EngineError(code, message)`` and reports the worker's ``Progress``. Out of GPU memory, a batch is retried one
image at a time; when even that fails, or memory runs out elsewhere, the job fails with ``EngineError`` code
``oom``: torch's out-of-memory never reaches the worker.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image

from models import device as devices
from models import loader
from models.encode import ImageInfo
from models.grid import make_grid
from models.preview import projection_for
from models.prompting import build_conditioning, negative_text
from models.result import EngineResult
from models.sampling import StepHooks
from models.settings import EngineSettings
from models.tiling import seamless
from worker.engine import OUT_OF_MEMORY, Cancelled, EngineError, ErrorCode, Progress
from worker.sizes import DEFAULT_SIZE_STEP, SIZE_STEP
from worker.spec import JobKind, JobSpec, Strength

if TYPE_CHECKING:
    from worker.cards import ModelCard
    from worker.engine import EngineClass

__all__ = ["Cancelled", "Engine", "EngineError", "EngineResult", "Progress"]

logger = logging.getLogger(__name__)

# img2img strength: the share of the noise schedule re-run from the source (1.0 ignores the source).
VARIATION_STRENGTH = {Strength.STRONG: 0.85, Strength.SUBTLE: 0.5}
UPSCALE_STRENGTH = {Strength.SUBTLE: 0.25, Strength.CREATIVE: 0.45}
UPSCALE_FACTOR = 2
GRID_SIZE = 4


class Engine:
    """A loaded model, ready to run jobs one at a time (pipelines are not thread-safe)."""

    def __init__(self, model: loader.LoadedModel, placement: devices.Placement, settings: EngineSettings):
        self.model = model
        self.placement = placement
        self.settings = settings.for_family(model.family)
        self.name = model.name
        self.device = placement.device
        self.dtype = placement.dtype
        self.family = model.family
        self.base_resolution = model.base_resolution
        self.size_step = SIZE_STEP.get(model.family, DEFAULT_SIZE_STEP)
        self.load_seconds = 0.0
        self.projection = projection_for(model.family, self._pipe.vae)

    @property
    def _pipe(self) -> Any:
        # diffusers registers a pipeline's modules (vae, unet, image_processor) at run time, out of mypy's sight.
        return self.model.pipe

    @classmethod
    def load(cls, settings: EngineSettings | None = None) -> Engine:
        """Load the configured model once per process; raises loader.ModelLoadError."""
        started = time.perf_counter()
        settings = settings or EngineSettings()
        try:
            placement = devices.choose(settings)
        except ValueError as exc:
            raise loader.ModelLoadError(str(exc)) from exc
        engine = cls(loader.load(settings, placement), placement, settings)
        engine.load_seconds = time.perf_counter() - started
        return engine

    def run(
        self,
        spec: JobSpec,
        source: Image.Image | None = None,
        progress: Callable[[Progress], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> EngineResult:
        """Make a job's images; raises Cancelled, or EngineError with a code and a user-facing message."""
        started = time.perf_counter()
        self._check(spec, source)
        hooks = StepHooks(
            stop_percent=spec.prompt.stop if spec.kind is not JobKind.UPSCALE else 100,
            progress=progress,
            should_cancel=should_cancel,
            preview_every=self.settings.preview_every,
            projection=self.projection,
        )
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        logger.info("job %s: %s %sx%s seed %s", spec.id, spec.kind, spec.prompt.width, spec.prompt.height, spec.seed)
        timings: dict[str, float] = {}
        with (
            self._out_of_memory_fails(spec),
            torch.inference_mode(),
            self.placement.autocast(),
            self._seamless(spec.prompt.tile),
        ):
            strength = strength_for(spec)
            if spec.kind is JobKind.UPSCALE:
                assert source is not None  # checked in _check
                width, height = _even_size(source.width * UPSCALE_FACTOR, source.height * UPSCALE_FACTOR)
                count = 1
            else:
                width, height = spec.prompt.width, spec.prompt.height
                count = GRID_SIZE
            image = None if source is None else source.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
            # Large images encode/decode in VAE tiles to bound memory; not with --tile, whose wrap-around padding
            # would wrap each VAE tile on itself instead of the whole image.
            large = max(width, height) > self.settings.vae_tiling_above
            with self._vae_tiling(large and not spec.prompt.tile):
                images = self._generate(spec, count, hooks, timings, width, height, image, strength)
        return self._result(spec, images, width, height, timings, started, strength)

    # -- the generation steps -------------------------------------------------------------------------------

    def _generate(
        self,
        spec: JobSpec,
        count: int,
        hooks: StepHooks,
        timings: dict[str, float],
        width: int,
        height: int,
        image: Image.Image | None,
        strength: float | None,
    ) -> list[Image.Image]:
        # 1. Encode the prompt: weights, --no, house style, and per-image --chaos, in one text-encoder batch.
        clock = time.perf_counter()
        # Always through the text-to-image pipeline: same encoders, and one tokenization path for every job kind.
        cond = build_conditioning(self.model.pipe, spec.prompt, spec.seed, count, self.settings)
        pipe: Any = self.model.pipe if image is None else self.model.img2img
        timings["encode_prompt"] = time.perf_counter() - clock

        # 2. Denoise all images in one batch (one image at a time if the batch does not fit on the GPU).
        clock = time.perf_counter()
        steps = spec.steps
        if strength is not None:
            # img2img runs int(steps × strength) of the schedule's steps; at least one must remain.
            steps = max(steps, math.ceil(1 / strength))
        common = {
            "guidance_scale": spec.guidance,
            "num_inference_steps": steps,
            "output_type": "latent",
            "callback_on_step_end": hooks,
            "callback_on_step_end_tensor_inputs": ["latents"],
        }
        if image is None:
            common.update(width=width, height=height)
        else:
            common.update(strength=strength)

        def denoise(rows: list[int]) -> torch.Tensor:
            part = cond if len(rows) == cond.batch else cond.select(rows[0])
            generators = [torch.Generator("cpu").manual_seed(spec.seed + i) for i in rows]
            extra = {} if image is None else {"image": [image] * len(rows)}
            return pipe(**part.pipeline_kwargs(), generator=generators, **common, **extra).images

        latents = self._batched(denoise, count, f"job {spec.id}: denoise", width, height)
        timings["denoise"] = time.perf_counter() - clock

        # 3. Decode with the VAE (tiled for large images), then convert to PIL.
        clock = time.perf_counter()
        images = self._batched(
            lambda rows: self._decode(latents[rows[0] : rows[-1] + 1]), count, f"job {spec.id}: decode", width, height
        )
        timings["decode"] = time.perf_counter() - clock
        return self._pipe.image_processor.postprocess(images, output_type="pil")

    def _decode(self, latents: torch.Tensor) -> torch.Tensor:
        vae = self._pipe.vae
        # An fp16 SDXL VAE overflows to NaN; such VAEs say so with force_upcast, and decode in fp32.
        upcast = vae.dtype == torch.float16 and bool(getattr(vae.config, "force_upcast", False))
        if upcast:
            vae.to(torch.float32)
        try:
            latents = latents.to(vae.device, vae.dtype)
            mean, std = getattr(vae.config, "latents_mean", None), getattr(vae.config, "latents_std", None)
            if mean is not None and std is not None:
                # VAEs that normalise their latents per channel (e.g. Playground's SDXL VAE) are un-normalised first.
                shape = (1, len(mean), 1, 1)
                mean_t = torch.tensor(mean).view(shape).to(latents)
                std_t = torch.tensor(std).view(shape).to(latents)
                return vae.decode(latents * std_t / vae.config.scaling_factor + mean_t, return_dict=False)[0]
            return vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]
        finally:
            if upcast:
                vae.to(torch.float16)

    def _batched(
        self, work: Callable[[list[int]], torch.Tensor], count: int, stage: str, width: int, height: int
    ) -> torch.Tensor:
        """``work`` on all rows at once; on CUDA out-of-memory, retried one row at a time.

        ``stage`` names the job and step for the log ("job <id>: denoise"). Raises EngineError when even one
        row does not fit.
        """
        try:
            return work(list(range(count)))
        except torch.OutOfMemoryError:
            if count == 1:
                raise EngineError(ErrorCode.OOM, _oom_message(width, height)) from None
            logger.warning(
                "%s: out of memory for %s images at %sx%s; retrying one at a time", stage, count, width, height
            )
        self._free_memory()
        try:
            return torch.cat([work([i]) for i in range(count)])
        except torch.OutOfMemoryError:
            self._free_memory()
            raise EngineError(ErrorCode.OOM, _oom_message(width, height)) from None

    # -- checks, context and results --------------------------------------------------------------------------

    def _check(self, spec: JobSpec, source: Image.Image | None) -> None:
        wanted = spec.prompt.model
        if wanted is not None and self.settings.aliases.get(wanted, wanted) != self.name:
            raise EngineError(ErrorCode.UNSUPPORTED, f"this worker runs model {self.name!r}, not {wanted!r}")
        if not any(part.weight > 0 for part in spec.prompt.prompts):
            raise EngineError(ErrorCode.BAD_INPUT, "a prompt needs at least one part with a positive weight")
        needs_source = spec.kind in (JobKind.VARIATION, JobKind.UPSCALE)
        if needs_source and source is None:
            raise EngineError(ErrorCode.BAD_INPUT, f"{spec.kind} jobs need the source image")
        if not needs_source and source is not None:
            raise EngineError(ErrorCode.BAD_INPUT, f"{spec.kind} jobs take no source image")
        step = self._pipe.vae_scale_factor
        if spec.prompt.width % step or spec.prompt.height % step:
            size = f"{spec.prompt.width}x{spec.prompt.height}"
            raise EngineError(ErrorCode.BAD_INPUT, f"size {size} is not a multiple of {step} pixels")

    @contextlib.contextmanager
    def _out_of_memory_fails(self, spec: JobSpec) -> Iterator[None]:
        """Out of memory where ``_batched`` has no fallback (prompt encoding, MPS): EngineError code ``oom``."""
        try:
            yield
        except RuntimeError as exc:
            if not is_out_of_memory(exc):
                raise
            logger.warning("job %s: out of memory: %s", spec.id, exc)
            self._free_memory()
            raise EngineError(ErrorCode.OOM, OUT_OF_MEMORY) from exc

    @contextlib.contextmanager
    def _seamless(self, enabled: bool) -> Iterator[None]:
        with seamless(self._pipe.unet, self._pipe.vae, enabled=enabled):
            yield

    @contextlib.contextmanager
    def _vae_tiling(self, enabled: bool) -> Iterator[None]:
        vae = self._pipe.vae
        if not enabled:
            yield
            return
        vae.enable_tiling()
        try:
            yield
        finally:
            vae.disable_tiling()

    def _free_memory(self) -> None:
        if self.device == "cuda":
            torch.cuda.empty_cache()

    def _result(
        self,
        spec: JobSpec,
        images: list[Image.Image],
        width: int,
        height: int,
        timings: dict[str, float],
        started: float,
        strength: float | None,
    ) -> EngineResult:
        steps = spec.steps

        def info(seed: int) -> ImageInfo:
            return ImageInfo(
                prompt=spec.prompt.text,
                negative=negative_text(spec.prompt, self.settings),
                seed=seed,
                steps=steps,
                guidance=spec.guidance,
                width=width,
                height=height,
                model=self.name,
                job_id=spec.id,
                sampler="DPM++ 2M Karras" if self.settings.karras_sigmas else "DPM++ 2M",
                strength=strength,
            )

        clock = time.perf_counter()
        grid = make_grid(images) if len(images) == GRID_SIZE else None
        timings["grid"] = time.perf_counter() - clock
        seconds = time.perf_counter() - started
        logger.info("job %s: %s done in %.2fs", spec.id, spec.kind, seconds)
        return EngineResult(
            images=images,
            grid=grid,
            seed=spec.seed,
            width=width,
            height=height,
            seconds=seconds,
            model=self.name,
            infos=[info(spec.seed + i) for i in range(len(images))],
            grid_info=info(spec.seed) if grid is not None else None,
            timings=timings,
            max_file_bytes=self.settings.max_file_bytes,
        )

    def card(self) -> ModelCard:
        """What this worker publishes to the fleet (worker/cards.py) for the bot to route and size jobs by.

        The name is the loaded model's (``IMAGINE_MODEL``, its alias resolved), the aliases are the
        ``IMAGINE_ALIASES`` that point at it; ``max_side`` is 4 × base, the long side of an upscale (2×) of the
        widest ``--ar`` (4:1, whose long side is at most 2 × base): every job the bot makes fits, nothing doubles
        past it. The SD families and the demo model honour --no, ``::`` weights, --tile and img2img; none inpaints.
        """
        from worker.cards import Capabilities, ModelCard
        from worker.spec import SD_GUIDANCE

        return ModelCard(
            name=self.name,
            aliases=tuple(sorted(a for a, target in self.settings.aliases.items() if target == self.name != a)),
            family=self.family,
            base_resolution=self.base_resolution,
            size_step=self.size_step,
            max_side=4 * self.base_resolution,
            default_steps=self.settings.steps,
            guidance=SD_GUIDANCE,
            capabilities=Capabilities(negative_prompt=True, weights=True, tile=True, img2img=True, inpaint=False),
        )


def strength_for(spec: JobSpec) -> float | None:
    """img2img strength of a follow-up (None for jobs that start from noise)."""
    if spec.kind is JobKind.VARIATION and spec.strength is not None:
        return VARIATION_STRENGTH[spec.strength]
    if spec.kind is JobKind.UPSCALE and spec.strength is not None:
        return UPSCALE_STRENGTH[spec.strength]
    return None


def _even_size(width: int, height: int, multiple: int = 8) -> tuple[int, int]:
    # The VAE needs sides divisible by its 8× downsampling; engine outputs already are, other images get trimmed.
    return width - width % multiple, height - height % multiple


def _oom_message(width: int, height: int) -> str:
    return f"out of GPU memory at {width}x{height}, even one image at a time; try a smaller size or lower --quality"


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is the accelerator running out of memory (MPS reports it as a plain RuntimeError)."""
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


if TYPE_CHECKING:
    # mypy holds Engine (and, through load(), its instances and results) to the worker's contract.
    _contract: EngineClass = Engine

"""The generation engine the worker calls: one loaded model, and ``run(spec)`` for every job kind.

* imagine / reroll: four images in one batched denoising run (guidance batched too, where the family's pipeline
  batches it), cell i from seed ``seed + i`` so any cell can be regenerated alone; then a 2×2 grid.
* variation: four images by img2img from the source cell; strength 0.85 (strong: new composition, same
  subject and palette) or 0.5 (subtle: same composition, new details).
* upscale: one image at 2× per side: Lanczos, then img2img refinement at the family's strength (subtle: sharpen what
  is there; creative: new fine detail, same composition; ``FamilyFacts.upscale_strength``), VAE-tiled when large.

Steps and guidance are the spec's: ``imagine generate`` (and the bot, from the worker's model card) fill
``spec.steps`` with ``steps_for_quality(<the card's default steps>, --quality)`` and ``spec.guidance`` from --stylize
on the card's guidance curve, so a kept spec regenerates the same pixels even after the settings change. The
prompt flags are applied in models/prompting.py (--no, ``::`` weights, --stylize, --style raw, --chaos),
models/sampling.py (--stop) and models/tiling.py (--tile).

Every model family (SD 1/2/XL, SD3/3.5, FLUX.1, FLUX.2 klein, Z-Image) runs through the same steps; what differs
(text encoders, pipeline arguments, latent layout, which flags it can honour) is its adapter's, in models/families/.
A spec asking for a flag the family cannot honour fails with ``EngineError`` code ``unsupported``, never silently.

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

from models import loader, memory
from models.encode import ImageInfo
from models.families import base
from models.prompting import negative_text
from models.result import GRID_SIZE, EngineResult
from models.sampling import StepHooks
from models.settings import EngineSettings
from models.tiling import seamless
from worker.cards import ModelCard
from worker.engine import Cancelled, EngineError, ErrorCode, Progress
from worker.spec import JobKind, JobSpec, Strength

if TYPE_CHECKING:
    from worker.engine import EngineClass

__all__ = ["Cancelled", "Engine", "EngineError", "EngineResult", "Progress"]

logger = logging.getLogger(__name__)

# img2img strength: the share of the noise schedule re-run from the source (1.0 ignores the source).
# Upscales: each family's ``FamilyFacts.upscale_strength`` (models/families/base.py, flow.py).
VARIATION_STRENGTH = {Strength.STRONG: 0.85, Strength.SUBTLE: 0.5}
UPSCALE_FACTOR = 2


class Engine:
    """A loaded model, ready to run jobs one at a time (pipelines are not thread-safe)."""

    def __init__(self, model: loader.LoadedModel, settings: EngineSettings):
        self.model = model
        self.adapter = model.adapter
        facts = self.adapter.facts
        self.placement = model.placement
        self.settings = settings.for_family(facts.family, facts.capabilities)
        self.name = model.name
        self.device = self.placement.device
        self.dtype = self.placement.dtype
        self.family = facts.family
        self.size_step = facts.size_step
        # IMAGINE_BASE_RESOLUTION overrides the family's native side (small GPUs, tiny test models).
        self.base_resolution = settings.base_resolution or facts.base_resolution
        self.max_side = min(facts.max_side, base.MAX_SIDE_PER_BASE * self.base_resolution)
        self.default_steps = settings.steps or facts.default_steps
        self.load_seconds = 0.0
        if self.base_resolution % self.size_step:
            step = f"{facts.label}'s size step {self.size_step}"
            raise loader.ModelLoadError(f"base resolution {self.base_resolution} is not a multiple of {step}")
        _warn_unused(settings, facts)

    @classmethod
    def load(cls, settings: EngineSettings | None = None) -> Engine:
        """Load the configured model once per process; raises loader.ModelLoadError."""
        started = time.perf_counter()
        settings = settings or EngineSettings()
        engine = cls(loader.load(settings), settings)
        engine.load_seconds = time.perf_counter() - started
        return engine

    @classmethod
    def from_pipeline(cls, pipe: Any, settings: EngineSettings, name: str) -> Engine:
        """An engine for a pipeline built in code (the benchmark's full-size models); raises loader.ModelLoadError."""
        started = time.perf_counter()
        engine = cls(loader.adopt(pipe, name, settings), settings)
        engine.load_seconds = time.perf_counter() - started
        return engine

    def card(self) -> ModelCard:
        """What this worker publishes to the fleet (worker/cards.py) for the bot to route, size and fill jobs by.

        The name is the loaded model's (``IMAGINE_MODEL``, its alias resolved), the aliases the ``IMAGINE_ALIASES``
        that point at it; everything else is the family adapter's (models/families/), with ``IMAGINE_STEPS`` and
        ``IMAGINE_BASE_RESOLUTION`` where set. ``max_side`` is 4 × base (the long side of an upscale of the widest
        ``--ar``, 4:1) unless the family's positional embeddings end sooner.
        """
        facts = self.adapter.facts
        aliases = sorted(alias for alias, model in self.settings.aliases.items() if model == self.name != alias)
        return ModelCard(
            name=self.name,
            aliases=tuple(aliases),
            family=facts.family,
            base_resolution=self.base_resolution,
            size_step=self.size_step,
            max_side=self.max_side,
            default_steps=self.default_steps,
            guidance=facts.guidance,
            capabilities=facts.capabilities,
        )

    def run(
        self,
        spec: JobSpec,
        source: Image.Image | None = None,
        progress: Callable[[Progress], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> EngineResult:
        """Make a job's images; raises Cancelled, or EngineError with a code and a user-facing message."""
        started = time.perf_counter()
        width, height, count = self._job_size(spec, source)
        self._check(spec, source, width, height)
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        image = None if source is None else source.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        hooks = StepHooks(
            stop_percent=spec.prompt.stop if spec.kind is not JobKind.UPSCALE else 100,
            progress=progress,
            should_cancel=should_cancel,
            preview_every=self.settings.preview_every,
            projection=self.adapter.projection,
            spatial=lambda latents: self.adapter.spatial(latents, width, height),
        )
        logger.info("job %s: %s %sx%s seed %s", spec.id, spec.kind, width, height, spec.seed)
        timings: dict[str, float] = {}
        strength = strength_for(spec, self.adapter.facts)
        with (
            memory.out_of_memory_fails(spec.id),
            torch.inference_mode(),
            self.placement.autocast(),
            seamless(*self.adapter.tile_modules(), enabled=spec.prompt.tile),
        ):
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
        cond = self.adapter.encode(spec.prompt, spec.seed, count, self.settings)
        timings["encode_prompt"] = time.perf_counter() - clock

        # 2. Prepare the latents: the pipeline draws each image's noise from its own generator (seed + i), so any
        # cell can be regenerated alone; img2img starts from the source instead, noised to ``strength``.
        clock = time.perf_counter()
        pipe: Any = self.adapter.pipe if image is None else self.adapter.img2img
        steps = spec.steps
        if strength is not None:
            # img2img runs int(steps × strength) of the schedule's steps; at least one must remain.
            steps = max(steps, math.ceil(1 / strength))
        common = {
            "num_inference_steps": steps,
            "output_type": "latent",
            "callback_on_step_end": hooks,
            "callback_on_step_end_tensor_inputs": ["latents"],
        }

        # 3. Denoise all images in one batch (one image at a time if the batch does not fit on the GPU).
        def denoise(rows: list[int]) -> torch.Tensor:
            part = cond if len(rows) == cond.batch else cond.select(rows[0])
            generators = [torch.Generator("cpu").manual_seed(spec.seed + i) for i in rows]
            images = None if image is None else [image] * len(rows)
            family = self.adapter.call_kwargs(spec.guidance, width, height, images, strength)
            return pipe(**part.pipeline_kwargs(), generator=generators, **common, **family).images

        latents = memory.batched(denoise, count, f"job {spec.id}: denoise", width, height)
        timings["denoise"] = time.perf_counter() - clock

        # 4. Decode with the VAE (tiled for large images).
        clock = time.perf_counter()
        images = memory.batched(
            lambda rows: self.adapter.decode(latents[rows[0] : rows[-1] + 1], width, height),
            count,
            f"job {spec.id}: decode",
            width,
            height,
        )
        timings["decode"] = time.perf_counter() - clock
        # 5. Post-process: pixels to PIL images.
        return self.adapter.pipe.image_processor.postprocess(images, output_type="pil")

    # -- checks, context and results --------------------------------------------------------------------------

    def _job_size(self, spec: JobSpec, source: Image.Image | None) -> tuple[int, int, int]:
        """(width, height, images) of the output: a grid at the prompt's size, or one image at twice the source's."""
        if spec.kind is not JobKind.UPSCALE or source is None:
            return spec.prompt.width, spec.prompt.height, GRID_SIZE
        # The VAE (and a transformer's patches) need sides divisible by the pixel multiple: other sources get trimmed.
        multiple = self.adapter.facts.pixel_multiple
        width, height = source.width * UPSCALE_FACTOR, source.height * UPSCALE_FACTOR
        return width - width % multiple, height - height % multiple, 1

    def _check(self, spec: JobSpec, source: Image.Image | None, width: int, height: int) -> None:
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
        reason = base.refusal(spec, self.adapter.facts)
        if reason is not None:
            raise EngineError(ErrorCode.UNSUPPORTED, reason)
        step = self.adapter.facts.pixel_multiple
        if spec.prompt.width % step or spec.prompt.height % step:
            size = f"{spec.prompt.width}x{spec.prompt.height}"
            raise EngineError(ErrorCode.BAD_INPUT, f"size {size} is not a multiple of {step} pixels")
        if max(width, height) > self.max_side:
            longest = max(width, height)
            raise EngineError(
                ErrorCode.BAD_INPUT, f"a {longest} px side is longer than this model's {self.max_side} px"
            )

    @contextlib.contextmanager
    def _vae_tiling(self, enabled: bool) -> Iterator[None]:
        vae = self.adapter.pipe.vae
        if not enabled:
            yield
            return
        vae.enable_tiling()
        try:
            yield
        finally:
            vae.disable_tiling()

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
        info = ImageInfo(
            prompt=spec.prompt.text,
            negative=negative_text(spec.prompt, self.settings),
            seed=spec.seed,
            steps=spec.steps,
            guidance=spec.guidance,
            width=width,
            height=height,
            model=self.name,
            job_id=spec.id,
            sampler=self.adapter.facts.sampler,
            strength=strength,
        )
        result = EngineResult.collect(images, info, timings, started, self.settings.max_file_bytes)
        logger.info("job %s: %s done in %.2fs", spec.id, spec.kind, result.seconds)
        return result


def strength_for(spec: JobSpec, facts: base.FamilyFacts) -> float | None:
    """img2img strength of a follow-up on this family (None for jobs that start from noise)."""
    if spec.kind is JobKind.VARIATION and spec.strength is not None:
        return VARIATION_STRENGTH[spec.strength]
    if spec.kind is JobKind.UPSCALE and spec.strength is not None:
        return facts.upscale_strength[spec.strength]
    return None


def _warn_unused(settings: EngineSettings, facts: base.FamilyFacts) -> None:
    # A configured house style or default negative the family cannot use is said once, at load, not dropped silently.
    can = facts.capabilities
    if (settings.house_style or "").strip() and not can.stylize:
        logger.warning("IMAGINE_HOUSE_STYLE is set, but %s cannot blend a house style: it is not used", facts.label)
    if (settings.default_negative or "").strip() and not can.negative_prompt:
        logger.warning("IMAGINE_DEFAULT_NEGATIVE is set, but %s has no negative prompt: it is not used", facts.label)


if TYPE_CHECKING:
    # mypy holds Engine (and, through load(), its instances and results) to the worker's contract.
    _contract: EngineClass = Engine

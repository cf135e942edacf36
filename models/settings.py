"""Engine settings: which model, where it runs, and the knobs of the house look. Env prefix ``IMAGINE_``.

Built once in a process's ``main()`` (worker or CLI), never at import. Every field is an environment variable,
e.g. ``IMAGINE_MODEL=sdxl``, ``IMAGINE_ALIASES='{"sdxl": "stabilityai/stable-diffusion-xl-base-1.0"}'``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from worker.cards import Capabilities
from worker.settings import ENV_CONFIG

DEFAULT_HOUSE_STYLE = "beautiful composition, soft cinematic lighting, rich color, highly detailed"
DEFAULT_NEGATIVE = "lowres, blurry, jpeg artifacts, watermark, signature, text"


class EngineSettings(BaseSettings):
    """How the generation engine loads its model and shapes its pictures."""

    model_config = ENV_CONFIG  # IMAGINE_* variables and .env, read as the bot and the queue read them

    # "demo" (the bundled model), a local diffusers folder, a hub id, a single-file .safetensors checkpoint,
    # or an alias from ``aliases``.
    model: str = "demo"
    # Configs for a single-file checkpoint: a local diffusers folder (or cached hub id) of the same family.
    single_file_config: str | None = None
    aliases: dict[str, str] = Field(default_factory=dict)
    # Seconds to wait on the model hub before giving up; HF_HUB_OFFLINE=1 skips the hub entirely.
    hub_timeout: float = Field(default=10.0, gt=0)

    device: Literal["auto", "cuda", "mps", "cpu"] = "auto"
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    # On CPUs with native bf16 (AVX512-BF16/AMX) autocast roughly halves the UNet time; off by default
    # because elsewhere it is slower than fp32 and pixels differ from the fp32 reference.
    cpu_bf16_autocast: bool = False
    # torch.compile the denoiser (the UNet, or the transformer of SD3, FLUX, Z-Image); the name predates those.
    compile_unet: bool = False

    # Denoising steps at --quality 1; unset: the model family's recommended steps (20 for Stable Diffusion and the
    # demo model, 40 for SD3.5 Medium, 4 for FLUX.1 schnell, …; see models/families/). Specs carry their steps: the
    # bot reads this same variable (or the model card) to fill them, and so do ``imagine generate`` and the benchmark.
    steps: int | None = Field(default=None, ge=1, le=200)
    karras_sigmas: bool = True
    # The model's native side, instead of its family's (1024 px for SDXL, SD3, FLUX, Z-Image): --ar sizes keep about
    # base² pixels. For small GPUs and for tests, where the tiny random-weight models run at 64–128 px on a CPU.
    base_resolution: int | None = Field(default=None, ge=16)
    # FLUX.1 only: above 1, each step runs a second, negative pass ("true CFG", twice the denoising time) so --no
    # and negative ``::`` weights work; at 1 (the default) FLUX.1 has no negative prompt and refuses them.
    true_cfg_scale: float = Field(default=1.0, ge=1.0, le=30.0)
    # A preview image goes with every n-th progress report; 0 disables previews.
    preview_every: int = Field(default=5, ge=0)

    # The house style, and the negative prompt joined to every --no. Unset means the model's own default:
    # the phrases above for real models, none for the demo model (its small vocabulary has none of those words,
    # and unknown words would steer it to mush). Set them to "" to turn them off for any model.
    house_style: str | None = None
    # Share of the house-style embedding blended into the prompt at --stylize 1000 (linear below that).
    house_style_weight: float = Field(default=0.5, ge=0, le=1)
    default_negative: str | None = None
    # Prompt-embedding noise at --chaos 100, as a multiple of each token's own spread.
    chaos_scale: float = Field(default=0.6, ge=0)

    # Decode with the VAE in tiles when an output side exceeds this many pixels (bounds decoder memory).
    vae_tiling_above: int = Field(default=1536, ge=64)
    # Discord's attachment limit; larger grids are re-encoded (see models/encode.py).
    max_file_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)

    def for_family(self, family: str, capabilities: Capabilities | None = None) -> EngineSettings:
        """These settings with the house style and default negative filled in for a model family.

        A family without a negative prompt (``capabilities.negative_prompt`` false) gets no default negative, and
        one that cannot blend a house style (``capabilities.stylize`` false) gets no house style.
        """
        can = capabilities or Capabilities()
        own_words = family == "demo"
        return self.model_copy(
            update={
                "house_style": _or(self.house_style, "" if own_words or not can.stylize else DEFAULT_HOUSE_STYLE),
                "default_negative": _or(
                    self.default_negative, "" if own_words or not can.negative_prompt else DEFAULT_NEGATIVE
                ),
            }
        )

    def resolve_model(self) -> str:
        """The model an alias stands for (or the name itself)."""
        return self.aliases.get(self.model, self.model)


def _or(value: str | None, default: str) -> str:
    return default if value is None else value

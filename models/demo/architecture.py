"""The demo model's parts, as standard diffusers/transformers classes so ``from_pretrained`` loads them unchanged.

Sizes are chosen for a 2-core CPU: the whole model trains in about an hour and samples a 2 × 2 grid in about a
second, and the saved weights stay under 30 MB in float32.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

# From the defining modules, not top-level `diffusers` (whose names mypy sees as placeholders): see models/loader.py.
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler
from tokenizers import pre_tokenizers
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from models.demo.scenes import make_example
from worker.sizes import BASE_RESOLUTION, SIZE_STEP, Aspect, size_for_aspect

MAX_TOKENS = 24  # the longest caption is about 20 words, each one token
NATIVE = BASE_RESOLUTION["demo"]
# Training buckets (width, height): the sizes the resolution table gives the demo model for the usual ratios,
# square first, so training sees exactly the shapes /imagine asks for.
BUCKETS: tuple[tuple[int, int], ...] = tuple(
    size_for_aspect(Aspect(w, h), NATIVE, SIZE_STEP["demo"]) for w, h in ((1, 1), (16, 9), (9, 16), (4, 1))
)
# The standard Stable Diffusion noise schedule, so any diffusers solver samples the model correctly.
NOISE_SCHEDULE = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}


def caption_words(samples: int = 4000) -> list[str]:
    """Every word the scene grammar uses, found by drawing captions (seen and held-out alike)."""
    words: set[str] = set()
    for seed in range(samples):
        words.update(make_example(seed, 32, 32, held_out=seed % 4 == 0)[1].split())
    return sorted(words)


def write_tokenizer(path: Path, words: list[str]) -> CLIPTokenizer:
    """Write a CLIP BPE vocabulary in which each grammar word is one token, and load it back.

    CLIP's BPE splits a word into byte-level characters (the last one marked ``</w>``) and applies merges in rank
    order. Merges shared between words (``n o`` for both "noon" and "snowy") would break a hand-made chain, so
    merges are grown the way BPE reads them: while a word still tokenizes to several pieces, merge its first two
    pieces at the next rank. A new, highest-rank merge cannot change words already whole. Words outside the
    grammar still tokenize, into characters and pieces, so no prompt is ever rejected.
    """
    path.mkdir(parents=True, exist_ok=True)
    chars = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab_list = [*chars, *(c + "</w>" for c in chars), "<|startoftext|>", "<|endoftext|>"]
    merges: list[tuple[str, str]] = []

    def build() -> CLIPTokenizer:
        vocab = {token: i for i, token in enumerate(vocab_list)}
        return CLIPTokenizer(
            vocab=vocab,
            merges=list(merges),  # type: ignore[arg-type]  # annotated list[str]; its BPE model takes (a, b) pairs
            model_max_length=MAX_TOKENS,
        )

    tokenizer = build()
    for word in words:
        while len(pieces := tokenizer.tokenize(word)) > 1:
            merges.append((pieces[0], pieces[1]))
            vocab_list.append(pieces[0] + pieces[1])
            tokenizer = build()
    vocab = {token: i for i, token in enumerate(vocab_list)}
    (path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (path / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    tokenizer.save_pretrained(path)
    return CLIPTokenizer.from_pretrained(path)


def make_vae() -> AutoencoderKL:
    """A small KL autoencoder: 8× downsampling (four blocks), four latent channels."""
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(32, 64, 64, 64),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=16,
        sample_size=NATIVE,
    )


def make_text_encoder(tokenizer: CLIPTokenizer) -> CLIPTextModel:
    """A two-layer CLIP text transformer over the word-level vocabulary, trained from scratch with the UNet."""
    config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=MAX_TOKENS,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return CLIPTextModel(config)


def make_unet() -> UNet2DConditionModel:
    """A three-level UNet with cross-attention to the 64-wide text states.

    Two downsamples × the VAE's 8 make image sides step by 32 px: ``worker.sizes.SIZE_STEP["demo"]``.
    """
    return UNet2DConditionModel(
        sample_size=NATIVE // 8,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        block_out_channels=(64, 128, 128),
        layers_per_block=1,
        cross_attention_dim=64,
        attention_head_dim=8,
        norm_num_groups=16,
    )


def make_train_scheduler() -> DDPMScheduler:
    """The noise schedule the UNet learns (epsilon prediction)."""
    return DDPMScheduler(num_train_timesteps=1000, steps_offset=1, **NOISE_SCHEDULE)


def make_sample_scheduler() -> DPMSolverMultistepScheduler:
    """The shipped sampler: DPM-Solver++ (2M) on the training schedule, good at 20 steps."""
    return DPMSolverMultistepScheduler(
        num_train_timesteps=1000, algorithm_type="dpmsolver++", steps_offset=1, **NOISE_SCHEDULE
    )


def make_pipeline(
    vae: AutoencoderKL, text_encoder: CLIPTextModel, tokenizer: CLIPTokenizer, unet: UNet2DConditionModel
) -> StableDiffusionPipeline:
    """The shipped pipeline around trained modules: the sample scheduler, no safety checker."""
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=make_sample_scheduler(),  # type: ignore[arg-type]  # annotated as the KarrasDiffusionSchedulers enum
        safety_checker=None,  # type: ignore[arg-type]  # diffusers takes None (no checker) but annotates a class
        feature_extractor=None,  # type: ignore[arg-type]  # as for safety_checker
        requires_safety_checker=False,
    )


def random_bucket(rng: random.Random) -> tuple[int, int]:
    """A training bucket, square half the time because square is the default request."""
    return BUCKETS[0] if rng.random() < 0.5 else rng.choice(BUCKETS[1:])

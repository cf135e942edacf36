"""bench/full_size.py: published text-encoder sizes, and random materialisation that keeps computed buffers."""

from __future__ import annotations

import pytest
import torch
from diffusers.models.autoencoders.autoencoder_kl_flux2 import AutoencoderKLFlux2
from diffusers.models.transformers.transformer_sd3 import SD3Transformer2DModel
from transformers import T5Config, T5EncoderModel

from bench import full_size

# Published sizes: CLIP ViT-L/14's text tower 123M, OpenCLIP bigG's 695M (SDXL's 1.39 GB fp16 text_encoder_2),
# the T5 v1.1 XXL encoder 4.76B (SD3 paper: "T5-XXL, 4.7B"), Qwen3-4B "4.0B", Qwen3-8B "8.2B" (model cards).
ENCODERS = [
    ("clip-l", lambda: full_size.clip_l(projection=True), 123e6),
    ("clip-g", full_size.clip_g, 695e6),
    ("t5-xxl", full_size.t5_xxl, 4.76e9),
    ("qwen3-4b", lambda: full_size.qwen3("4B", causal_lm=False), 4.02e9),
    ("qwen3-8b", lambda: full_size.qwen3("8B", causal_lm=True), 8.19e9),
]


@pytest.mark.parametrize(("build", "published"), [e[1:] for e in ENCODERS], ids=[e[0] for e in ENCODERS])
def test_text_encoders_have_the_published_size(build, published: float) -> None:
    """Each full-size text encoder, on the meta device, has its published parameter count (tied weights once)."""
    model = build()
    assert {p.device.type for p in model.parameters()} == {"meta"}
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(published, rel=0.01)


def test_every_family_builds_on_meta_with_its_published_transformer() -> None:
    """Every --full-size family assembles on the meta device; FLUX.1's transformer is the published 12B."""
    counts = {family: full_size.parameter_count(family) for family in full_size.FAMILIES}
    assert counts["flux-dev"]["transformer"] == pytest.approx(12e9, rel=0.01)
    assert counts["z-image"]["text_encoder"] == counts["flux2-klein-4b"]["text_encoder"]  # both Qwen3-4B


def test_materialise_keeps_buffers_and_randomises_weights() -> None:
    """A meta module made real: bf16 on the CPU, random weights, norm scales 1, and its constructor's buffers (SD3's
    sin-cos position table, the FLUX.2 VAE's batch-norm statistics)."""
    config = {"sample_size": 8, "patch_size": 2, "in_channels": 16, "out_channels": 16, "num_layers": 1,
              "attention_head_dim": 8, "num_attention_heads": 2, "joint_attention_dim": 32,
              "caption_projection_dim": 16, "pooled_projection_dim": 16, "pos_embed_max_size": 16}  # fmt: skip
    reference = SD3Transformer2DModel(**config)
    with torch.device("meta"):
        meta = SD3Transformer2DModel(**config)
    generator = torch.Generator("cpu").manual_seed(0)
    real = full_size.materialise(meta, "cpu", torch.bfloat16, generator)
    assert {t.device.type for t in real.state_dict().values()} == {"cpu"}
    assert {p.dtype for p in real.parameters()} == {torch.bfloat16}
    assert torch.equal(real.pos_embed.pos_embed, reference.pos_embed.pos_embed.to(torch.bfloat16))
    weight = real.transformer_blocks[0].attn.to_q.weight
    assert 0.01 < float(weight.detach().float().std()) < 0.03 and bool(real.norm_out.linear.bias.eq(0).all())

    with torch.device("meta"):
        vae = AutoencoderKLFlux2(
            block_out_channels=(8, 8),
            norm_num_groups=4,
            latent_channels=4,
            down_block_types=("DownEncoderBlock2D",) * 2,
            up_block_types=("UpDecoderBlock2D",) * 2,
        )
    vae = full_size.materialise(vae, "cpu", torch.float32, generator)
    assert bool(vae.bn.running_var.eq(1).all()) and bool(vae.bn.running_mean.eq(0).all())


def test_materialise_keeps_tied_weights_tied() -> None:
    """T5's input embedding is one tensor shared by two modules, before and after: no second copy in memory."""
    config = T5Config(vocab_size=100, d_model=8, d_ff=16, d_kv=4, num_layers=1, num_heads=2, is_encoder_decoder=False)
    with torch.device("meta"):
        meta = T5EncoderModel(config)
    real = full_size.materialise(meta, "cpu", torch.bfloat16, torch.Generator("cpu").manual_seed(0))
    assert real.shared.weight is real.encoder.embed_tokens.weight

"""Tiny text encoders and tokenizers for the transformer families, built in code without downloads.

The real families condition on CLIP, T5 v1.1 and Qwen3 models whose tokenizers are multi-megabyte vocabularies on
the Hub. The tiny stand-ins keep each tokenizer's real class and behaviour (special tokens, padding, truncation,
Qwen's chat template) with character- or byte-level vocabularies, so any prompt encodes and a saved folder loads
back through ``AutoTokenizer`` with no network. Encoders are the real transformers classes at toy widths; call
these under a fixed ``torch.manual_seed`` so the weights are the same on every machine.
"""

from __future__ import annotations

import string

from tokenizers import AddedToken
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    Qwen2Tokenizer,
    Qwen3Config,
    Qwen3ForCausalLM,
    Qwen3Model,
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
)

from models.tiny import _bytes_to_unicode, tiny_tokenizer

CLIP_MAX_LENGTH = 77
# FLUX.1 and SD3 read up to 512 T5 tokens; FLUX.2 klein and Z-Image up to 512 Qwen tokens.
LONG_MAX_LENGTH = 512

# Qwen3's chat template cut down to what the image pipelines use: single-turn user messages, the assistant turn
# opened by add_generation_prompt, and the empty think block Qwen3 writes when enable_thinking is false (FLUX.2
# klein passes false, Z-Image true). The markup matches Qwen3's own template for those inputs.
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)
QWEN_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def clip_tokenizer() -> CLIPTokenizer:
    """The byte-level CLIP tokenizer of ``models.tiny`` (77 tokens, like every CLIP the families use)."""
    return tiny_tokenizer()


def clip_encoder(width: int) -> CLIPTextModel:
    """A two-layer CLIP text encoder (FLUX's CLIP-L)."""
    return CLIPTextModel(_clip_config(width))


def clip_encoder_with_projection(width: int) -> CLIPTextModelWithProjection:
    """A two-layer CLIP text encoder with the pooled projection SD3 reads (its CLIP-L and CLIP-G)."""
    return CLIPTextModelWithProjection(_clip_config(width))


def _clip_config(width: int) -> CLIPTextConfig:
    vocab = len(clip_tokenizer())
    return CLIPTextConfig(
        hidden_size=width,
        intermediate_size=2 * width,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=vocab,
        max_position_embeddings=CLIP_MAX_LENGTH,
        projection_dim=width,
        bos_token_id=vocab - 2,
        eos_token_id=vocab - 1,
        pad_token_id=vocab - 1,
    )


def t5_tokenizer() -> T5Tokenizer:
    """A character-level T5 (SentencePiece-Unigram) tokenizer: printable ASCII pieces, anything else is <unk>."""
    pieces = [c for c in string.printable if not c.isspace()]
    # T5's fixed layout: <pad>=0, </s>=1, <unk>=2, then the pieces; "▁" marks a word start as in SentencePiece.
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(piece, -3.0) for piece in pieces] + [("▁" + piece, -2.5) for piece in pieces]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=LONG_MAX_LENGTH)


def t5_encoder(width: int) -> T5EncoderModel:
    """A two-layer T5 v1.1 encoder (gated-GELU feed-forward, as in the T5-XXL of SD3 and FLUX.1)."""
    config = T5Config(
        vocab_size=len(t5_tokenizer()),
        d_model=width,
        d_kv=width // 4,
        d_ff=2 * width,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        feed_forward_proj="gated-gelu",
        is_encoder_decoder=False,
        pad_token_id=0,
        eos_token_id=1,
    )
    return T5EncoderModel(config)


def qwen_tokenizer() -> Qwen2Tokenizer:
    """A byte-level Qwen2 BPE tokenizer with no merges: every UTF-8 byte is a token, plus Qwen's chat tokens."""
    vocab = {char: index for index, char in enumerate(_bytes_to_unicode())}
    for special in QWEN_SPECIAL_TOKENS:
        vocab[special] = len(vocab)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], model_max_length=LONG_MAX_LENGTH)
    # <|endoftext|> is registered by the class; the chat markers must be atomic too or the template is bytes.
    tokenizer.add_tokens([AddedToken(token, special=True, normalized=False) for token in QWEN_SPECIAL_TOKENS[1:]])
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    return tokenizer


def qwen3_config(width: int, layers: int) -> Qwen3Config:
    """A Qwen3 decoder config at toy width; ``layers`` matters because pipelines tap fixed hidden-state indices."""
    return Qwen3Config(
        vocab_size=len(qwen_tokenizer()),
        hidden_size=width,
        intermediate_size=2 * width,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=width // 2,
        max_position_embeddings=LONG_MAX_LENGTH + 64,
        tie_word_embeddings=True,
    )


def qwen3_causal_lm(width: int, layers: int) -> Qwen3ForCausalLM:
    """Qwen3 with its LM head, the class FLUX.2 klein's text_encoder is (its Qwen3-4B checkpoint's class)."""
    return Qwen3ForCausalLM(qwen3_config(width, layers))


def qwen3_model(width: int, layers: int) -> Qwen3Model:
    """The bare Qwen3 decoder, the class Z-Image's text_encoder is."""
    return Qwen3Model(qwen3_config(width, layers))

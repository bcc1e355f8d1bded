"""Retrieving: the passages that answer a question, best first, with their cosine similarity.

Usage::

    retriever = Retriever(store, top_k=4)
    passages = retriever.run("how many soldiers?")     # best first; passages[0].score in [0, 1]
    retriever.run(question, sources=["/corpus/a.txt"])  # only passages of these articles

Two searches are fused by reciprocal rank (RRF): the dense search (multilingual e5, any language),
where a passage is lifted by its best-matching sentence when the index holds sentence vectors, and,
when the question is in the language of the passages it found, BM25 keyword search, which catches
the names, numbers and compounds a small embedder blurs. (Translating other questions with the
local LLM for the keyword search was measured and dropped: docs/quality.md.) Each passage keeps its
dense cosine similarity as ``score``: the answerability gate (rag.answer.gating) is calibrated on it.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from chromadb.errors import InternalError
from langchain_core.documents import Document

from rag.retrieval.focusing import refocus, sentences_pooled
from rag.retrieval.keyword import keyword_search
from rag.settings import Settings
from rag.store import PASSAGES_ONLY, SENTENCE, Store, reading
from rag.text.language import detect_language

#: Passages each search contributes to the fusion.
POOL = 20
#: Records of the one dense query that serves passages and sentences alike (see Retriever._nearest).
SHARED_POOL = 100
#: The nearest sentence records encoded again on their own for the gate on a pooled index (focusing.py).
NEAREST_ALONE = 8
#: ``kind`` of the one-sentence records written beside the passages (see ingest.chunking).
#: A record from the dense search and its cosine similarity.
Hit = tuple[Document, float]


@dataclass(frozen=True)
class Passage:
    """A chunk of an article as handed to the LLM, and shown to the user when cited."""

    text: str
    source: str  # the article's path (or path#line for .jsonl articles): its identity in the index
    name: str  # the file name, for display
    title: str
    start: int  # character offsets of the passage in the article text
    end: int
    score: float  # cosine similarity to the question
    url: str | None = None
    date: str | None = None
    page: int | None = None  # the PDF pages the passage spans
    page_end: int | None = None
    paragraph: int | None = None  # the DOCX paragraphs the passage spans
    paragraph_end: int | None = None
    # The passage's sentence nearest the question (article offsets), when retrieval saw one: what a
    # reader built around the passage is centred on, and what the chat highlights.
    focus_start: int | None = None
    focus_end: int | None = None

    @property
    def place(self) -> str:
        """Where the passage sits in its document: ``"p. 3"``, ``"pp. 3–4"``, ``"¶ 12–13"``, or ``""``.

        Usage: ``f"{passage.name}, {passage.place}"``
        """
        for first, last, one, many in (
            (self.page, self.page_end, "p.", "pp."),
            (self.paragraph, self.paragraph_end, "¶", "¶"),
        ):
            if first:
                return f"{many} {first}–{last}" if last and last != first else f"{one} {first}"
        return ""

    @classmethod
    def from_document(cls, doc: Document, score: float) -> Passage:
        meta: dict[str, Any] = doc.metadata
        return cls(
            text=doc.page_content,
            source=str(meta.get("source", "")),
            name=str(meta.get("name") or meta.get("source", "")),
            title=str(meta.get("title", "")),
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", len(doc.page_content))),
            score=float(score),
            url=meta.get("url"),
            date=meta.get("date"),
            page=meta.get("page"),
            page_end=meta.get("page_end"),
            paragraph=meta.get("paragraph"),
            paragraph_end=meta.get("paragraph_end"),
        )


def fuse(rankings: Sequence[Sequence[str]], k: int) -> list[str]:
    """Reciprocal-rank fusion: ids ordered by the sum of 1 / (k + rank) over the rankings."""
    scores: Counter[str] = Counter()
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] += 1.0 / (k + rank)
    # Ties (an id alone in one ranking at the same rank as another) keep the first ranking's order.
    first_seen: dict[str, int] = {}
    for key in (key for ranking in rankings for key in ranking):
        first_seen.setdefault(key, len(first_seen))  # the first position, not the last
    return sorted(scores, key=lambda key: (-scores[key], first_seen[key]))


def _sentence_lift(passages: dict[str, Passage], sentences: list[Hit]) -> dict[str, float]:
    """Each passage's best similarity among the sentences overlapping it; a passage none of whose
    sentences is among the nearest gets the lowest similarity seen (its own is lower still)."""
    floor = min(score for _, score in sentences)
    by_source: dict[str, list[tuple[int, int, float]]] = {}
    for doc, score in sentences:
        meta = doc.metadata
        by_source.setdefault(str(meta.get("source")), []).append(
            (int(meta.get("start", 0)), int(meta.get("end", 0)), score)
        )
    return {
        key: max((s for start, end, s in by_source.get(p.source, []) if start < p.end and p.start < end), default=floor)
        for key, p in passages.items()
    }


def _with_focus(passage: Passage, sentences: list[Hit]) -> Passage:
    """``passage`` with the offsets of its best-matching sentence among the nearest ``sentences`` (as is
    when none of them lies in it)."""
    best: tuple[float, int, int] | None = None
    for doc, score in sentences:
        start, end = int(doc.metadata.get("start", 0)), int(doc.metadata.get("end", 0))
        inside = str(doc.metadata.get("source")) == passage.source and start < passage.end and passage.start < end
        if inside and (best is None or score > best[0]):
            best = (score, start, end)
    return replace(passage, focus_start=best[1], focus_end=best[2]) if best else passage


@dataclass(frozen=True)
class Retrieval:
    """What one search found: the passages for the LLM and what the answerability gate measures.

    Usage: ``found = retriever.search(question); found.passages, found.best_sentence``
    """

    passages: list[Passage]  # the top_k of the fusion, best first
    dense_scores: list[float]  # cosine of the dense search's passages, best first (up to POOL)
    dense_sources: list[str]  # their articles, in the same order
    best_sentence: float  # cosine of the nearest sentence record (the best passage's when there are none)
    question_language: str
    passages_language: str | None


def passages_language(passages: Sequence[Passage]) -> str | None:
    """The language most of these passages are written in (``None`` when none is recognised)."""
    votes = Counter(lang for p in passages if (lang := detect_language(p.text, default="")))
    return votes.most_common(1)[0][0] if votes else None


class Retriever:
    """Dense retrieval (with sentence lift) fused with BM25 over the store."""

    def __init__(
        self,
        store: Store,
        top_k: int,
        *,
        keyword: bool = True,
        sentence_weight: float = 1.0,
        fusion_k: int = 60,
    ) -> None:
        """
        Args:
            store: the opened index (reopened per question when another process changed it).
            top_k: passages returned, at least 1.
            keyword: fuse BM25 in for questions in the passages' language.
            sentence_weight: how much a passage's best-matching sentence adds to its cosine (0 = off).
            fusion_k: the k of reciprocal-rank fusion (rank r scores 1/(k+r)), at least 1.
        """
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        if fusion_k < 1:
            raise ValueError(f"fusion_k must be at least 1, got {fusion_k}")
        self.store = store
        self.top_k = top_k
        self.keyword = keyword
        self.sentence_weight = sentence_weight
        self.fusion_k = fusion_k

    def run(self, question: str, sources: list[str] | None = None) -> list[Passage]:
        """The ``top_k`` passages for ``question``, best first; ``sources`` limits the articles."""
        return self.search(question, sources).passages

    def search(self, question: str, sources: list[str] | None = None) -> Retrieval:
        """:meth:`run`, with the scores the answerability gate reads (:mod:`rag.answer.gating`)."""
        with reading(self.store.settings):
            self.store = self.store.fresh()
            found: dict[str, Passage] = {}
            vector = self.store.embeddings.embed_query(question)
            dense, sentences = self._dense(vector, sources, found)
            rankings = [dense]
            dense_top = [found[key] for key in dense[:5]]
            question_language, language = detect_language(question), passages_language(dense_top)
            # BM25 on words of another language than the passages' only adds noise (measured).
            if self.keyword and question_language == language:
                # InternalError: another process is writing this moment (see _add_missing): dense only.
                with contextlib.suppress(InternalError):
                    rankings.append(self._bm25(question, sources, question_language))
            best = self._add_missing(fuse(rankings, self.fusion_k), vector, found)
        by_cosine = sorted((found[key] for key in dense), key=lambda p: -p.score)
        passages = [_with_focus(found[key], sentences) for key in best]
        best_sentence = max((score for _, score in sentences), default=max((p.score for p in passages), default=0.0))
        if sentences and sentences_pooled(self.store.embeddings):
            # Pooled sentence records blur into their neighbours: the focus (what the paragraph reader
            # is cut around) and the gate's nearest sentence come from the sentences on their own.
            nearest = [doc.page_content for doc, _ in sentences[:NEAREST_ALONE]]
            passages, alone = refocus(passages, vector, self.store.embeddings, nearest)
            best_sentence = best_sentence if alone is None else alone
        return Retrieval(
            passages=passages,
            dense_scores=[p.score for p in by_cosine],
            dense_sources=[p.source for p in by_cosine],
            best_sentence=best_sentence,
            question_language=question_language,
            passages_language=language,
        )

    # --- the searches ---------------------------------------------------------------------------

    def _nearest(self, vector: list[float], sources: list[str] | None) -> tuple[list[Hit], list[Hit]]:
        """The passages and the sentence records nearest to ``vector``: ``(passages, sentences)``.

        One query without a metadata filter serves both: a filtered query on an embedded index
        that another process is writing to fails ("Error finding id": the filter sees records the
        reader's in-memory vector index does not have yet), an unfiltered one does not.
        """
        where = {"source": {"$in": sources}} if sources else None
        hits = self.store.vectors.similarity_search_by_vector_with_relevance_scores(vector, k=SHARED_POOL, filter=where)
        passages = [(d, 1.0 - dist) for d, dist in hits if d.metadata.get("kind") != SENTENCE]
        sentences = [(d, 1.0 - dist) for d, dist in hits if d.metadata.get("kind") == SENTENCE]
        if len(passages) < min(POOL, len(hits)) and len(hits) == SHARED_POOL:
            # Sentences crowded the passages out (an article of many short sentences): ask for passages.
            filtered = {"$and": [PASSAGES_ONLY, where]} if where else PASSAGES_ONLY
            try:
                got = self.store.vectors.similarity_search_by_vector_with_relevance_scores(
                    vector, k=POOL, filter=filtered
                )
                passages = [(d, 1.0 - dist) for d, dist in got]
            except InternalError:
                pass  # the filtered query fails while another process writes (above): keep what we have
        return passages[: max(POOL, self.top_k)], sentences

    def _dense(
        self, vector: list[float], sources: list[str] | None, found: dict[str, Passage]
    ) -> tuple[list[str], list[Hit]]:
        """Passage ids by cosine similarity (relevance = 1 - cosine distance), each lifted by its
        best-matching sentence when the index holds sentence vectors: a passage of several facts is
        then found by the one the question asks about. Also the sentence records it saw."""
        passages, sentences = self._nearest(vector, sources)
        scored = {}
        for doc, score in passages:
            key = str(doc.id)
            scored[key] = score
            found.setdefault(key, Passage.from_document(doc, score))
        if self.sentence_weight > 0 and sentences:
            lift = _sentence_lift({key: found[key] for key in scored}, sentences)
            scored = {k: s + self.sentence_weight * lift[k] for k, s in scored.items()}
        return sorted(scored, key=lambda k: -scored[k]), sentences

    def _bm25(self, query: str, sources: list[str] | None, language: str) -> list[str]:
        # The keyword index is on disk and kept by ingestion: always current, nothing to build here.
        found = keyword_search(self.store, query, POOL, set(sources) if sources else None, language)
        return [key for key, _ in found]

    def _add_missing(self, ranked: list[str], vector: list[float], found: dict[str, Passage]) -> list[str]:
        """The ``top_k`` best of ``ranked`` with a passage each: keyword-only hits get theirs, with their cosine."""
        missing = [key for key in ranked[: self.top_k] if key not in found]
        if missing:
            try:
                got = self.store.collection.get(ids=missing, include=["documents", "metadatas", "embeddings"])
            except InternalError:
                # Records another process is writing right now are in SQLite (so BM25 sees them) but
                # not yet in this process's in-memory vector index: Chroma says "Error finding id".
                # Answer from what this process can read; the next question reopens the store.
                got = {"ids": [], "documents": [], "metadatas": [], "embeddings": []}
            query = np.asarray(vector, dtype=np.float32)
            for key, text, meta, emb in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]):
                score = float(np.dot(query, np.asarray(emb, dtype=np.float32)))
                found[key] = Passage.from_document(
                    Document(page_content=text or "", metadata=meta or {}, id=key), score
                )
        return [key for key in ranked if key in found][: self.top_k]


def build_retriever(settings: Settings, store: Store, top_k: int | None = None) -> Retriever:
    """The retriever these settings describe.

    Usage: ``build_retriever(settings, open_store(settings, get_embeddings(settings)))``
    """
    return Retriever(
        store,
        top_k or settings.top_k,
        keyword=settings.keyword_search,
        sentence_weight=settings.sentence_weight,
        fusion_k=settings.fusion_k,
    )

"""Retrieving: the passages most similar to a question, with their cosine similarity.

Usage::

    retriever = Retriever(store, top_k=4)
    passages = retriever.run("how many soldiers?")     # best first; passages[0].score in [0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document

from rag.store import Store, reading


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
        )


class Retriever:
    """Dense retrieval over the store's collection (cosine similarity of e5 embeddings)."""

    def __init__(self, store: Store, top_k: int) -> None:
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        self.store = store
        self.top_k = top_k

    def run(self, question: str, sources: list[str] | None = None) -> list[Passage]:
        """The ``top_k`` passages for ``question``, best first; ``sources`` limits the articles."""
        where = {"source": {"$in": sources}} if sources else None
        with reading(self.store.settings):
            self.store = self.store.fresh()
            hits = self.store.vectors.similarity_search_with_relevance_scores(
                question, k=self.top_k, filter=where
            )
        return [Passage.from_document(doc, score) for doc, score in hits]

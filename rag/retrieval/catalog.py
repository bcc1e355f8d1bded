"""The catalogue: which articles the index holds, one entry per article, from the chunks' metadata.

Usage::

    from rag.retrieval.catalog import list_articles
    for article in list_articles(store):      # sorted by title
        article.title, article.chunks, article.date, article.source
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rag.store import Store, reading
from rag.text.sentences import short_title


@dataclass(frozen=True)
class ArticleInfo:
    """One ingested article: its identity in the index (``source``) and what a reader sees of it."""

    source: str  # the article's path (path#line for .jsonl articles): what a question can be limited to
    name: str  # the file name, for display
    title: str
    chunks: int
    date: str | None = None
    url: str | None = None

    @property
    def label(self) -> str:
        """A short human name: the title's first sentence (or the file name), cut to 80 characters."""
        return short_title(self.title or self.name, 80)


def list_articles(store: Store) -> list[ArticleInfo]:
    """Every article with chunks in the index, sorted by title (then source)."""
    counts: dict[str, int] = {}
    first: dict[str, dict[str, Any]] = {}
    with reading(store.settings):
        store = store.fresh()  # a chat that runs for days still sees what was ingested since
        # Passages only: the sentence records beside them are not what "chunks" counts.
        for page in store.passage_pages(["metadatas"]):
            for meta in page.get("metadatas") or []:
                meta = meta or {}
                source = str(meta.get("source", ""))
                counts[source] = counts.get(source, 0) + 1
                first.setdefault(source, meta)
    articles = [
        ArticleInfo(
            source=source,
            name=str(meta.get("name") or source.rsplit("/", 1)[-1]),
            title=str(meta.get("title") or ""),
            chunks=counts[source],
            date=meta.get("date") or None,
            url=meta.get("url") or None,
        )
        for source, meta in first.items()
    ]
    return sorted(articles, key=lambda a: (a.label.lower(), a.source))

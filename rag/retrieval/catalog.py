"""The catalogue: which articles the index holds, one entry per article, read a page at a time.

Usage::

    from rag.retrieval.catalog import count_articles, list_articles
    for article in list_articles(store, offset=0, limit=50):     # sorted by title; limit=None: all
        article.title, article.chunks, article.date, article.source
    count_articles(store)

Ingestion keeps the catalogue with every chunk it writes or deletes (:class:`rag.store.Catalogue`), so
a page costs what it shows, not a pass over the collection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


def list_articles(store: Store, offset: int = 0, limit: int | None = None, matching: str = "") -> list[ArticleInfo]:
    """The articles with chunks in the index, sorted by title (then source): ``limit`` of them from ``offset``;
    with ``matching``, only those whose title (as shown) or file name holds each of its words, in any case.

    Usage: ``list_articles(store, 0, 100, "nordkorea")``
    """
    with reading(store.settings):
        return _infos(store.catalogue.articles(offset, limit, matching))


def count_articles(store: Store, matching: str = "") -> int:
    """How many articles the index holds (that match ``matching``, as :func:`list_articles`)."""
    with reading(store.settings):
        return store.catalogue.count(matching)


def articles_of(store: Store, sources: Sequence[str]) -> list[ArticleInfo]:
    """The catalogue entries of these articles (those still in the index), sorted by title."""
    with reading(store.settings):
        return _infos(store.catalogue.articles_of(list(sources)))


def _infos(rows: list[tuple]) -> list[ArticleInfo]:
    return [
        ArticleInfo(source=source, name=name, title=title or "", chunks=chunks, date=date or None, url=url or None)
        for source, name, title, date, url, chunks in rows
    ]

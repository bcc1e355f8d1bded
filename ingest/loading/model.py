"""The records loading produces: :class:`Article`, :class:`Skipped`, and the internal :class:`Unreadable`.

Usage::

    from ingest.loading.model import Article, Skipped
    article = Article(source="/abs/a.txt", title="Headline", text="Headline\\nBody.")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Article:
    """One news article ready for chunking.

    Usage: ``Article(source="/abs/a.txt", title="Headline", text="Headline\\nBody.")``

    ``source`` is the absolute file path (``"<path>#<line>"`` or ``"<path>#id=<id>"`` for a
    ``.jsonl`` line); the record manager uses it as the article's identity.
    """

    source: str
    title: str
    text: str
    url: str | None = None
    date: str | None = None

    @property
    def name(self) -> str:
        """File name for display, e.g. ``"nordkorea.txt"`` or ``"feed.jsonl#3"``."""
        return Path(self.source).name


@dataclass(frozen=True)
class Skipped:
    """A file (or ``.jsonl`` line) that was not loaded, with the reason in plain English.

    Usage: ``Skipped(path="photo.txt", reason="binary file (PNG image), not text")``
    """

    path: str
    reason: str


class Unreadable(Exception):
    """Internal: raised inside the loaders, turned into a :class:`Skipped` by ``load_file``.

    Usage: ``raise Unreadable("empty file")``
    """

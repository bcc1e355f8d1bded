"""The records loading produces: :class:`Article`, :class:`Skipped`, and the internal :class:`Unreadable`.

Usage::

    from ingest.loading.model import Article, Skipped
    article = Article(source="/abs/a.txt", title="Headline", text="Headline\\nBody.")
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

#: What a numbered part of a document is: a PDF's pages, a DOCX's paragraphs.
PartKind = Literal["page", "paragraph"]


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
    #: Where each page (PDF) or paragraph (DOCX) begins in ``text``, so a passage can be cited as
    #: "p. 3" or "¶ 12"; empty for formats without such parts.
    part_starts: tuple[int, ...] = ()
    part_kind: PartKind | None = None

    def part_at(self, offset: int) -> int | None:
        """The 1-based page or paragraph holding ``text[offset]``, or None without parts.

        Usage: ``Article(..., part_starts=(0, 120), part_kind="page").part_at(130)  # -> 2``
        """
        if not self.part_starts:
            return None
        return bisect_right(self.part_starts, offset) or 1

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

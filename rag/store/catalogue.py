"""The articles catalogue: one row per article in the index, with its passage count, read a page at a time.

Usage::

    catalogue = Catalogue(Database.open(records))                 # on SQLite or PostgreSQL
    catalogue.articles(offset=0, limit=50, matching="nordkorea")  # [(source, name, title, date, url, chunks), ...]
    catalogue.count(); catalogue.articles_of(["/corpus/a.txt"])
    catalogue.sources_under(["/corpus"])                           # ['/corpus/a.txt', '/corpus/feed.jsonl#1', ...]

Each row holds the metadata of the article's latest written passage and how many passages it has.
The SQL is the same on both backends (sources and sort keys compare in byte order on both). It is written with every write to the collection, in the transaction of
:class:`rag.store.tables.SearchTables`, so a page costs what it shows, not a pass over the collection.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rag.store.database import Database, PgConnection
from rag.text.sentences import short_title

#: ``(source, name, title, date, url, chunks)``: a catalogue row as readers get it.
ArticleRow = tuple[str, str, str, str, str, int]

#: A connection inside one of :meth:`Database.transaction`'s transactions.
Connection = sqlite3.Connection | PgConnection

#: The catalogue's columns a reader gets, in the order rag.retrieval.catalog unpacks them.
_COLUMNS = "source, name, title, date, url, chunks"


@dataclass(frozen=True)
class Catalogue:
    """The articles table in the record manager's database."""

    db: Database

    @property
    def table(self) -> str:
        """The table's name: ``{prefix}_articles``."""
        return f"{self.db.prefix}_articles"

    def create(self, conn: Connection) -> None:
        """Make the empty table, inside the caller's transaction."""
        text = self.db.text
        conn.execute(
            f"CREATE TABLE {self.table} (source {text} PRIMARY KEY, name TEXT, title TEXT, date TEXT, url TEXT, "
            f"sort_key {text} NOT NULL, chunks INTEGER NOT NULL DEFAULT 0)"
        )
        conn.execute(f"CREATE INDEX {self.table}_order ON {self.table} (sort_key, source)")

    # --- writing, inside the caller's transaction ---------------------------------------------------

    def write(self, conn: Connection, latest: Mapping[str, dict[str, Any]]) -> None:
        """Add or update the articles of these ``{source: metadata of its latest written passage}``."""
        conn.executemany(
            f"INSERT INTO {self.table} (source, name, title, date, url, sort_key) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (source) DO UPDATE SET name = excluded.name, title = excluded.title, "
            "date = excluded.date, url = excluded.url, sort_key = excluded.sort_key",
            [_article_row(source, meta) for source, meta in latest.items()],
        )

    def recount(self, conn: Connection, passages: Mapping[str, int]) -> None:
        """Set these articles' passage counts; an article left with none leaves the catalogue."""
        conn.executemany(f"UPDATE {self.table} SET chunks = ? WHERE source = ?", [(n, s) for s, n in passages.items()])
        conn.executemany(f"DELETE FROM {self.table} WHERE source = ? AND chunks = 0", [(s,) for s in passages])

    def clear(self, conn: Connection) -> None:
        """Empty the table (it stays)."""
        conn.execute(f"DELETE FROM {self.table}")

    # --- reading ----------------------------------------------------------------------------------

    def count(self, matching: str = "") -> int:
        """How many articles there are (whose label or file name holds every word of ``matching``)."""
        where, params = _matching(matching)
        return int(self.db.read(f"SELECT COUNT(*) FROM {self.table}{where}", params)[0][0])

    def articles(self, offset: int = 0, limit: int | None = None, matching: str = "") -> list[ArticleRow]:
        """The rows of the articles, sorted by title, one page of them; with ``matching``, only those
        whose label or file name holds every one of its words."""
        where, params = _matching(matching)
        return self.db.read(
            f"SELECT {_COLUMNS} FROM {self.table}{where} ORDER BY sort_key, source LIMIT ? OFFSET ?",
            (*params, self.db.no_limit if limit is None else limit, offset),
        )

    def articles_of(self, sources: Sequence[str]) -> list[ArticleRow]:
        """The rows of the given articles (by primary key), sorted by title."""
        marks = ",".join("?" * len(sources))
        if not marks:
            return []
        return self.db.read(
            f"SELECT {_COLUMNS} FROM {self.table} WHERE source IN ({marks}) ORDER BY sort_key, source",
            tuple(sources),
        )

    def sources_under(self, roots: Sequence[str]) -> list[str]:
        """The articles whose file is one of ``roots`` or lies under one (a catalogue range per root, no scan).

        Usage: ``catalogue.sources_under(["/corpus"])  # ['/corpus/a.txt', '/corpus/feed.jsonl#1', ...]``
        """
        found: set[str] = set()
        for root in roots:
            root = root.rstrip(os.sep) or os.sep
            # A folder's files ("root/..."), a file itself, or a .jsonl file's articles ("root#line").
            sql = (
                f"SELECT source FROM {self.table} WHERE source = ? OR (source > ? AND source < ?) "
                "OR (source > ? AND source < ?)"
            )
            params = (
                root,
                root + "#",
                root + "$",
                root.rstrip(os.sep) + os.sep,
                root.rstrip(os.sep) + chr(ord(os.sep) + 1),
            )
            found |= {source for (source,) in self.db.read(sql, params)}
        return sorted(found)


def _matching(text: str) -> tuple[str, tuple[str, ...]]:
    """A WHERE clause: every word of ``text`` in the article's label (``sort_key``, lower case) or file name.

    A LIKE over the catalogue, one row an article (tens of milliseconds at a hundred thousand), asked
    only when a reader searches the list.
    """
    words = text.lower().split()[:8]
    if not words:
        return "", ()
    escaped = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in words]
    clause = " AND ".join("(sort_key LIKE ? ESCAPE '\\' OR lower(name) LIKE ? ESCAPE '\\')" for _ in words)
    return f" WHERE {clause}", tuple(p for w in escaped for p in (f"%{w}%", f"%{w}%"))


def _article_row(source: str, meta: dict[str, Any]) -> tuple[str, str, str, str | None, str | None, str]:
    name = str(meta.get("name") or source.rsplit("/", 1)[-1])
    title = str(meta.get("title") or "")
    # The order readers see: the label ArticleInfo shows (its title's first sentence, or the file name).
    return (
        source,
        name,
        title,
        meta.get("date") or None,
        meta.get("url") or None,
        short_title(title or name, 80).lower(),
    )

"""The keyword index: SQLite FTS5 over the passages' stemmed terms, ranked by its built-in BM25.

Usage::

    keywords = KeywordIndex(Database.open(records))
    keywords.search(["soldat", "getot"], k=20, sources={"/corpus/a.txt"})   # [(id, bm25 score), ...]
    keywords.frequencies(["soldat"]); keywords.stats(); keywords.terms_of(["id1", "id2"])
    keywords.query_terms("Wie viele Soldaten?")                              # ['wie', 'viel', 'soldat']

One FTS5 table holds each passage's stemmed terms (:func:`rag.text.terms.terms`); ``passages`` maps
its rows to the store's ids and articles; ``terms`` and ``stats`` keep the counts BM25 needs per
question. :class:`rag.store.keywords_pg.PgKeywordIndex` is the same on PostgreSQL. Sentence records are not indexed: keyword search ranks passages. It is written with every
write to the collection, in the transaction of :class:`rag.store.tables.SearchTables`.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rag.store.database import Database
from rag.text.terms import terms

#: One record to index: its id, its text and its metadata (``source`` names its article).
Row = tuple[str, str, dict[str, Any]]


def _rowid(key: str) -> int:
    """The keyword tables' integer row of a passage id: a 64-bit hash, so a write needs no id lookup."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


@dataclass(frozen=True)
class KeywordTables:
    """What both keyword indexes (SQLite FTS5 here, PostgreSQL in rag.store.keywords_pg) share: their
    database and the tables' name prefix (``{prefix}_passages``, ``{prefix}_terms``, ``{prefix}_stats``)."""

    db: Database

    @property
    def prefix(self) -> str:
        """The tables' name prefix."""
        return self.db.prefix

    def exists(self, conn: Any = None) -> bool:
        """Whether the tables were made (the stats table is made last of them), inside ``conn``'s
        transaction when given."""
        return self.db.has_table(f"{self.prefix}_stats", conn)

    def passage_count(self) -> int:
        """How many passages are indexed."""
        return self.stats()[0]

    def stats(self) -> tuple[int, int]:
        """``(passages, terms)``: how many passages are indexed and how many terms they hold in all."""
        passages, words = self.db.read(f"SELECT passages, terms FROM {self.prefix}_stats")[0]
        return int(passages), int(words)


@dataclass(frozen=True)
class KeywordIndex(KeywordTables):
    """The FTS5 keyword index over the passages, in the record manager's database."""

    #: Postings a question's first pass may rank (rag.retrieval.keyword): FTS5 ranks about a posting a
    #: microsecond here, so every word of a question over a million passages would take seconds.
    posting_budget: ClassVar[int] = 20_000

    def create(self, conn: sqlite3.Connection) -> None:
        """Make the empty tables, inside the caller's transaction."""
        p = self.prefix
        # detail=full although BM25 needs no positions: measured, ranking is 4x faster than with
        # detail=column or none (25 vs 100 ms for a question over 10k passages).
        tokenizer = "unicode61 remove_diacritics 0 tokenchars '_'"
        conn.execute(f'CREATE VIRTUAL TABLE {p}_fts USING fts5(terms, tokenize="{tokenizer}")')
        # How many passages hold each term, kept with every write: FTS5's own count (fts5vocab) walks the
        # term's whole posting list, 26 ms a question at 100k passages, more as the index grows.
        conn.execute(f"CREATE TABLE {p}_terms (term TEXT PRIMARY KEY, passages INTEGER NOT NULL) WITHOUT ROWID")
        conn.execute(
            f"CREATE TABLE {p}_passages (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, source TEXT NOT NULL, "
            "length INTEGER NOT NULL)"
        )
        conn.execute(f"CREATE INDEX {p}_passages_source ON {p}_passages (source)")
        # Passages and their terms in all, kept with every write: BM25 needs both per question (its idf
        # and the average length) and counting them would be a scan.
        conn.execute(f"CREATE TABLE {p}_stats (passages INTEGER NOT NULL, terms INTEGER NOT NULL)")
        conn.execute(f"INSERT INTO {p}_stats VALUES (0, 0)")

    # --- writing, inside the caller's transaction ---------------------------------------------------

    def write(self, conn: sqlite3.Connection, rows: Sequence[Row]) -> set[str]:
        """Index these passages (an id already indexed is replaced); the articles of the replaced ones."""
        p = self.prefix
        removed, removed_terms, sources = self._remove(conn, [key for key, _, _ in rows])
        words = [terms(text) for _, text, _ in rows]
        self._count_terms(conn, words, +1)
        conn.executemany(
            f"INSERT INTO {p}_passages (rowid, id, source, length) VALUES (?, ?, ?, ?)",
            [(_rowid(key), key, str(meta.get("source", "")), len(w)) for (key, _, meta), w in zip(rows, words)],
        )
        conn.executemany(
            f"INSERT INTO {p}_fts (rowid, terms) VALUES (?, ?)",
            [(_rowid(key), " ".join(w)) for (key, _, _), w in zip(rows, words)],
        )
        added_terms = sum(len(w) for w in words)
        conn.execute(
            f"UPDATE {p}_stats SET passages = passages + ?, terms = terms + ?",
            (len(rows) - removed, added_terms - removed_terms),
        )
        return sources

    def delete(self, conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
        """Drop these passages (ids that are not indexed are ignored); the articles they were of."""
        count, removed_terms, sources = self._remove(conn, ids)
        conn.execute(
            f"UPDATE {self.prefix}_stats SET passages = passages - ?, terms = terms - ?", (count, removed_terms)
        )
        return sources

    def passages_per_article(self, conn: sqlite3.Connection, sources: Iterable[str]) -> dict[str, int]:
        """How many passages each of these articles has now (0 for none), inside the transaction."""
        sql = f"SELECT COUNT(*) FROM {self.prefix}_passages WHERE source = ?"
        return {source: conn.execute(sql, (source,)).fetchone()[0] for source in sources}

    def clear(self, conn: sqlite3.Connection) -> None:
        """Empty the tables (they stay)."""
        p = self.prefix
        for table in ("fts", "passages", "terms"):
            conn.execute(f"DELETE FROM {p}_{table}")
        conn.execute(f"UPDATE {p}_stats SET passages = 0, terms = 0")

    def _remove(self, conn: sqlite3.Connection, ids: Sequence[str]) -> tuple[int, int, set[str]]:
        """Delete these passages' rows: how many there were, their terms in all, and their articles."""
        p = self.prefix
        rows = [(_rowid(key),) for key in ids]
        found: list[tuple[str, int, str]] = []
        for chunk in range(0, len(rows), 500):  # SQLite's limit on bound parameters
            part = [r[0] for r in rows[chunk : chunk + 500]]
            marks = ",".join("?" * len(part))
            found += conn.execute(
                f"SELECT p.source, p.length, f.terms FROM {p}_passages AS p JOIN {p}_fts AS f ON f.rowid = p.rowid "
                f"WHERE p.rowid IN ({marks})",
                part,
            ).fetchall()
        if found:
            self._count_terms(conn, [text.split() for _, _, text in found], -1)
            conn.executemany(f"DELETE FROM {p}_passages WHERE rowid = ?", rows)
            conn.executemany(f"DELETE FROM {p}_fts WHERE rowid = ?", rows)
        return len(found), sum(length for _, length, _ in found), {source for source, _, _ in found}

    def _count_terms(self, conn: sqlite3.Connection, passages: Iterable[list[str]], sign: int) -> None:
        """Add (``sign=+1``) or take away (``-1``) these passages in the terms' passage counts."""
        counts = Counter(term for words in passages for term in set(words))
        conn.executemany(
            f"INSERT INTO {self.prefix}_terms (term, passages) VALUES (?, ?) "
            "ON CONFLICT (term) DO UPDATE SET passages = passages + excluded.passages",
            [(term, sign * n) for term, n in counts.items()],
        )
        if sign < 0:
            conn.executemany(
                f"DELETE FROM {self.prefix}_terms WHERE term = ? AND passages <= 0", [(t,) for t in counts]
            )

    # --- reading ----------------------------------------------------------------------------------

    def query_terms(self, text: str, language: str | None = None) -> list[str]:
        """The terms of a question as passages were indexed: :func:`rag.text.terms.terms`, whatever the language."""
        return terms(text)

    def terms_of(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """The indexed terms of these passages, by id (ids not indexed are left out)."""
        p = self.prefix
        out: dict[str, list[str]] = {}
        for chunk in range(0, len(ids), 500):
            part = [_rowid(key) for key in ids[chunk : chunk + 500]]
            marks = ",".join("?" * len(part))
            sql = f"SELECT p.id, f.terms FROM {p}_passages AS p JOIN {p}_fts AS f ON f.rowid = p.rowid"
            out |= {key: text.split() for key, text in self.db.read(f"{sql} WHERE p.rowid IN ({marks})", part)}
        return out

    def frequencies(self, words: Sequence[str]) -> dict[str, int]:
        """How many passages hold each of these terms (terms in none are left out)."""
        if not words:
            return {}
        marks = ",".join("?" * len(words))
        sql = f"SELECT term, passages FROM {self.prefix}_terms WHERE term IN ({marks}) AND passages > 0"
        return dict(self.db.read(sql, list(words)))

    def search(self, words: Sequence[str], k: int, sources: set[str] | None = None) -> list[tuple[str, float]]:
        """The ``k`` passages that BM25 (k1=1.2, b=0.75) ranks best for any of ``words``: ``[(id, score), ...]``."""
        if not words or k < 1:
            return []
        p = self.prefix
        query = " OR ".join('"' + word.replace('"', '""') + '"' for word in words)
        only, params = "", [query]
        if sources:
            only = f" AND rowid IN (SELECT rowid FROM {p}_passages WHERE source IN ({','.join('?' * len(sources))}))"
            params += sorted(sources)
        rows = self.db.read(
            f"SELECT p.id, -s.score FROM (SELECT rowid, rank AS score FROM {p}_fts WHERE {p}_fts MATCH ?{only} "
            f"ORDER BY rank LIMIT ?) AS s JOIN {p}_passages AS p ON p.rowid = s.rowid ORDER BY s.score",
            [*params, k],
        )
        return [(key, float(score)) for key, score in rows]

"""The keyword index and the catalogue written together: one transaction per write to the collection.

Usage::

    tables = SearchTables.open(records)        # the keyword index and catalogue of this namespace
    tables.exists(); tables.create(pages)      # made once, filled from the collection's pages
    tables.add(ids, texts, metadatas)          # IndexedChroma does this with every write
    tables.delete(ids); tables.clear()

Both live in the record manager's database (:class:`rag.store.database.Database`), SQLite or
PostgreSQL, whose keyword index is :class:`rag.store.keywords.KeywordIndex` (FTS5) or
:class:`rag.store.keywords_pg.PgKeywordIndex` (``tsvector``) behind one interface; a write changes
the passages of the keyword index and the passage counts of the catalogue at once, so no reader ever
sees one without the other. No process rebuilds them from a scan; an index made before they existed
gets them filled once, when it is first opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_classic.indexes import SQLRecordManager

from rag.store.catalogue import Catalogue, Connection
from rag.store.database import Database
from rag.store.keywords import KeywordIndex, Row
from rag.store.keywords_pg import PgKeywordIndex
from rag.text.sentences import SENTENCE


@dataclass(frozen=True)
class SearchTables:
    """The keyword index and the catalogue of one record-manager namespace."""

    keywords: KeywordIndex | PgKeywordIndex
    catalogue: Catalogue

    @classmethod
    def open(cls, records: SQLRecordManager) -> SearchTables:
        """Usage: ``SearchTables.open(open_records(settings))`` (a StoreError unless SQLite or PostgreSQL)"""
        db = Database.open(records)
        return cls(PgKeywordIndex(db) if db.postgres else KeywordIndex(db), Catalogue(db))

    @property
    def db(self) -> Database:
        """The database both live in."""
        return self.keywords.db

    def exists(self) -> bool:
        """Whether the tables were made (an index made before they existed has none yet)."""
        return self.keywords.exists()

    def create(self, pages: Iterable[dict[str, Any]] = ()) -> int:
        """Create the tables, filled from these pages of passages (:meth:`Store.passage_pages`), in one
        transaction: no process ever sees them half-filled. Nothing happens if another process was first.

        Returns how many passages it indexed (0 when another process had created the tables).
        """
        with self.db.transaction() as conn:
            if self.keywords.exists(conn):
                return 0
            self.catalogue.create(conn)
            self.keywords.create(conn)  # last: its stats table says the tables exist
            count = 0
            for page in pages:
                docs, metas = page["documents"], page["metadatas"]
                rows = [(k, d or "", m or {}) for k, d, m in zip(page["ids"], docs, metas)]
                self._write(conn, rows)
                count += len(rows)
            return count

    def add(self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any] | None]) -> None:
        """Index these records' passages (sentence records are skipped); an id already indexed is replaced."""
        rows = [(key, text, meta or {}) for key, text, meta in zip(ids, texts, metadatas)]
        rows = [(key, text, meta) for key, text, meta in rows if meta.get("kind") != SENTENCE]
        if rows:
            with self.db.transaction() as conn:
                self._write(conn, rows)

    def delete(self, ids: Sequence[str]) -> None:
        """Drop these records' passages (ids that are not indexed are ignored) and articles left without any."""
        with self.db.transaction() as conn:
            sources = self.keywords.delete(conn, ids)
            self.catalogue.recount(conn, self.keywords.passages_per_article(conn, sources))

    def clear(self) -> None:
        """Empty both (an index whose collection is gone)."""
        with self.db.transaction() as conn:
            self.keywords.clear(conn)
            self.catalogue.clear(conn)

    def _write(self, conn: Connection, rows: Sequence[Row]) -> None:
        replaced = self.keywords.write(conn, rows)
        latest = {str(meta.get("source", "")): meta for _, _, meta in rows}
        self.catalogue.write(conn, latest)
        self.catalogue.recount(conn, self.keywords.passages_per_article(conn, set(latest) | replaced))

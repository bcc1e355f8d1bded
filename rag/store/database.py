"""The SQLite database the keyword index and the catalogue share with the record manager.

Usage::

    db = Database.open(records)                  # StoreError unless the record manager is on SQLite
    with db.transaction() as conn: conn.execute(f"DELETE FROM {db.prefix}_articles")
    db.read(f"SELECT passages, terms FROM {db.prefix}_stats")
    db.has_table(f"{db.prefix}_stats")

Tables are named per record-manager namespace (``db.prefix``), so collections sharing one database
stay apart.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy
from langchain_classic.indexes import SQLRecordManager

from rag.store.errors import StoreError


@dataclass(frozen=True)
class Database:
    """The record manager's SQLite database and this namespace's table prefix."""

    engine: sqlalchemy.Engine
    prefix: str

    @classmethod
    def open(cls, records: SQLRecordManager) -> Database:
        """Usage: ``Database.open(open_records(settings))``"""
        if records.engine.dialect.name != "sqlite":
            raise StoreError(
                "The keyword index and the articles catalogue live in the record manager's database and need "
                f"SQLite (FTS5); NEWSQA_RECORD_DB_URL is a {records.engine.dialect.name} URL. Use a sqlite:/// "
                "URL that every machine reaches."
            )
        return cls(records.engine, "kw_" + hashlib.sha1(records.namespace.encode()).hexdigest()[:12])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One SQLite write transaction, taken at once (BEGIN IMMEDIATE); rolled back if the block raises."""
        with closing(self.engine.raw_connection()) as raw:
            conn = raw.driver_connection
            level = conn.isolation_level
            conn.isolation_level = None  # we say where the transaction begins and ends
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                conn.isolation_level = level

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """The rows of one query, on a connection of its own."""
        with closing(self.engine.raw_connection()) as raw:
            return raw.driver_connection.execute(sql, params).fetchall()

    def has_table(self, name: str, conn: sqlite3.Connection | None = None) -> bool:
        """Whether the table exists (asked inside ``conn``'s transaction when given)."""
        sql, params = "SELECT 1 FROM sqlite_master WHERE name = ?", (name,)
        if conn is not None:
            return conn.execute(sql, params).fetchone() is not None
        return bool(self.read(sql, params))

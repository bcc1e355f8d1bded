"""The database the keyword index and the catalogue share with the record manager: SQLite or PostgreSQL.

Usage::

    db = Database.open(records)                  # StoreError unless the record manager is on SQLite or PostgreSQL
    with db.transaction() as conn: conn.execute(f"DELETE FROM {db.prefix}_articles WHERE source = ?", (s,))
    db.read(f"SELECT passages, terms FROM {db.prefix}_stats")
    db.has_table(f"{db.prefix}_stats"); db.postgres
    with WriteLock(records.engine, records.namespace): ...   # one batch's write, one machine at a time

Tables are named per record-manager namespace (``db.prefix``), so collections sharing one database
stay apart. SQL shared by both backends is written with ``?`` placeholders; on PostgreSQL
:class:`PgConnection` turns them into psycopg's ``%s``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy
from langchain_classic.indexes import SQLRecordManager

from rag.store.errors import StoreError

#: The SQLAlchemy dialects the record database may have (rag.settings.record_db_url checks the URL itself).
DIALECTS = ("sqlite", "postgresql")


def lock_key(name: str) -> int:
    """A PostgreSQL advisory lock's key for ``name``: a signed 64-bit hash, the same on every machine."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class PgConnection:
    """A psycopg connection that runs SQL written for sqlite3 (``?`` placeholders) as well as psycopg's own.

    Usage: ``PgConnection(raw).execute("SELECT 1 WHERE ? = ?", (1, 1)).fetchone()``
    """

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self.conn.execute(_psycopg_sql(sql, params), params or None)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self.conn.cursor() as cursor:
                cursor.executemany(_psycopg_sql(sql, rows[0]), rows)


def _psycopg_sql(sql: str, params: Sequence[Any] | dict[str, Any]) -> str:
    # SQL written for sqlite3 has `?` placeholders and no literal `%`; psycopg's own has `%s` or `%(name)s`.
    if "?" in sql and not isinstance(params, dict):
        return sql.replace("%", "%%").replace("?", "%s")
    return sql


@dataclass(frozen=True)
class Database:
    """The record manager's database and this namespace's table prefix."""

    engine: sqlalchemy.Engine
    prefix: str

    @classmethod
    def open(cls, records: SQLRecordManager) -> Database:
        """Usage: ``Database.open(open_records(settings))``"""
        if records.engine.dialect.name not in DIALECTS:
            raise StoreError(
                "The keyword index and the articles catalogue live in the record manager's database, which "
                f"must be SQLite or PostgreSQL; NEWSQA_RECORD_DB_URL is a {records.engine.dialect.name} URL. Use "
                "a sqlite:/// URL that every machine reaches or a postgresql+psycopg:// one."
            )
        return cls(records.engine, "kw_" + hashlib.sha1(records.namespace.encode()).hexdigest()[:12])

    @property
    def postgres(self) -> bool:
        """Whether the database is PostgreSQL (else SQLite)."""
        return self.engine.dialect.name == "postgresql"

    @property
    def text(self) -> str:
        """The column type of text compared in byte order (ranges of paths, sort keys), as SQLite always does."""
        return 'TEXT COLLATE "C"' if self.postgres else "TEXT"

    @property
    def no_limit(self) -> int | None:
        """The ``LIMIT ?`` value that means no limit."""
        return None if self.postgres else -1

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One write transaction, rolled back if the block raises; writers of this namespace take turns.

        SQLite: ``BEGIN IMMEDIATE`` (the database's write lock). PostgreSQL: a transaction that first takes
        an advisory lock of the namespace's tables, so the counts the keyword index keeps stay exact
        when several machines write at once.
        """
        if self.postgres:
            with closing(self.engine.raw_connection()) as raw:
                conn = raw.driver_connection
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(self.prefix + " tables"),))
                    yield PgConnection(conn)
            return
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

    def read(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple]:
        """The rows of one query, on a connection of its own."""
        with closing(self.engine.raw_connection()) as raw:
            conn = PgConnection(raw.driver_connection) if self.postgres else raw.driver_connection
            return conn.execute(sql, params).fetchall()

    def has_table(self, name: str, conn: sqlite3.Connection | PgConnection | None = None) -> bool:
        """Whether the table exists (asked inside ``conn``'s transaction when given)."""
        if self.postgres:
            sql = "SELECT 1 WHERE to_regclass(?) IS NOT NULL"
        else:
            sql = "SELECT 1 FROM sqlite_master WHERE name = ?"
        if conn is not None:
            return conn.execute(sql, (name,)).fetchone() is not None
        return bool(self.read(sql, (name,)))


class WriteLock:
    """The lock one batch's write holds, so that machines sharing a PostgreSQL record database take turns.

    Usage::

        lock = WriteLock(records.engine, records.namespace)
        with lock: ...      # Chroma upsert, keyword index and catalogue rows, records of one batch

    A PostgreSQL session advisory lock on a connection of its own, so it is released by the server when
    the holder dies (a killed ingestion never leaves it held; a machine that vanishes, within about two
    minutes of TCP keepalives). On SQLite nothing: the index folder's
    :func:`rag.store.locking.ingest_lock` already lets one ingestion at a time write to its database.
    Not re-entrant; threads of one process take turns like machines (each holds it on its own session).
    """

    def __init__(self, engine: sqlalchemy.Engine, name: str) -> None:
        """
        Args:
            engine: the record database's engine.
            name: what the lock guards (the record-manager namespace): other names do not wait for it.
        """
        self.engine = engine
        self.key = lock_key(name)
        # Per thread: an ingestion's background writer (rag.store.writer) and its main thread, which
        # refreshes records, may both wait for the lock.
        self.held = threading.local()

    @property
    def shared(self) -> bool:
        """Whether the lock is really taken (the record database is PostgreSQL)."""
        return self.engine.dialect.name == "postgresql"

    def __enter__(self) -> WriteLock:
        if self.shared:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                # A machine that vanishes (no FIN from its kernel) is noticed by the server within about
                # two minutes, not the two hours of the default TCP keepalive, and its lock released.
                conn.execute(
                    sqlalchemy.text(
                        "SELECT set_config('tcp_keepalives_idle', '60', false), "
                        "set_config('tcp_keepalives_interval', '10', false), "
                        "set_config('tcp_keepalives_count', '6', false), pg_advisory_lock(:key)"
                    ),
                    {"key": self.key},
                )
            except BaseException:
                conn.close()
                raise
            self.held.connection = conn
        return self

    def __exit__(self, *exc: object) -> None:
        conn, self.held.connection = getattr(self.held, "connection", None), None
        if conn is not None:
            try:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            finally:
                conn.close()

"""The store's errors: problems with the index that the user can act on, each message saying how.

Usage::

    try:
        store = open_store(settings, embeddings)
    except StoreError as exc:        # IndexMissingError, IndexMismatchError, IndexBusyError, ...
        print(f"newsqa: {exc}")
    raise unreadable_error(settings, exc) from exc   # a low-level Chroma/SQLite failure, in the user's words

An index that Chroma or SQLite cannot read (a damaged file, a disk that filled up) is reported as
:class:`IndexUnreadableError`, whose message says to run ``newsqa ingest --rebuild``.
"""

from __future__ import annotations

import sqlite3
import sys

import sqlalchemy.exc
from chromadb.errors import InternalError

from rag.settings import Settings


class StoreError(RuntimeError):
    """A problem with the index that the user can act on; the message says how."""


class IndexMissingError(StoreError):
    """No index yet: nothing was ingested."""


class IndexMismatchError(StoreError):
    """The index was built with other settings (embedding model, chunking, ...) than the current ones."""


class IndexBusyError(StoreError):
    """Another process holds the index (a second ingestion, a lock held for a minute)."""


class ChromaServerError(StoreError):
    """The configured Chroma server cannot be reached (down, restarting, wrong address)."""


class RecordDatabaseError(StoreError):
    """The PostgreSQL record database (NEWSQA_RECORD_DB_URL) cannot be reached or refuses newsqa."""


class IndexUnreadableError(StoreError):
    """Chroma or SQLite cannot read the index files; only a rebuild helps."""


#: What Chroma's Rust core and the record manager's SQLite raise when the files on disk are damaged,
#: truncated or not what they should be (measured: "file is not a database", "database disk image is
#: malformed", "Error loading hnsw index", "Error finding id").
UNREADABLE = (InternalError, sqlite3.DatabaseError, sqlalchemy.exc.DatabaseError)


def record_db_unreachable(settings: Settings, error: BaseException) -> StoreError | None:
    """The error a user sees while the PostgreSQL record database is down or unreachable; None for other errors.

    Usage: ``raise record_db_unreachable(settings, exc) or exc``
    """
    url = settings.record_db_url or ""
    if not url.startswith("postgresql"):
        return None
    kinds: tuple[type[BaseException], ...] = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)
    psycopg = sys.modules.get("psycopg")  # imported only by a process that talks to PostgreSQL
    if psycopg is not None:
        kinds += (psycopg.OperationalError, psycopg.InterfaceError)
    if not isinstance(error, kinds):
        return None
    where = sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    detail = " ".join(str(getattr(error, "orig", None) or error).split())[:200] or type(error).__name__
    return RecordDatabaseError(
        f"Cannot use the PostgreSQL record database {where} ({detail}). Check that PostgreSQL is running and "
        "reachable from here, and NEWSQA_RECORD_DB_URL."
    )


def unreadable_error(settings: Settings, error: BaseException) -> StoreError:
    """The error a user sees for a low-level failure to read or write the index files.

    Usage: ``raise unreadable_error(settings, exc) from exc``
    """
    detail = " ".join(str(error).split())[:200] or type(error).__name__
    if "database is locked" in detail:  # busy, not damaged: a rebuild would be the wrong advice
        return IndexBusyError(
            f"The index in {settings.index_dir} stayed locked by another process for a minute; "
            "try again when it has finished."
        )
    return IndexUnreadableError(
        f"The index in {settings.index_dir} cannot be read or written ({detail}). It may be damaged "
        "(a crash while writing, a full disk, a copy of a running index). Rebuild it with "
        "`newsqa ingest --rebuild` (name your folders if you ingested others than the corpus folder)."
    )

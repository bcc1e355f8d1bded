"""One writer per index folder, and readers whose low-level failures come out in the user's words.

Usage::

    with ingest_lock(settings): ...          # a second writer of this index folder gets IndexBusyError at once
    with reading(settings): hits = store.vectors.similarity_search("query: ...")  # IndexUnreadableError

A damaged vector index file is sometimes only noticed by the first search, not when opening: every
reader wraps its use of the store in :func:`reading`.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from rag.settings import Settings
from rag.store.chroma import server_unreachable
from rag.store.errors import UNREADABLE, IndexBusyError, StoreError, record_db_unreachable, unreadable_error


@contextmanager
def reading(settings: Settings) -> Iterator[None]:
    """Turn Chroma's, SQLite's and PostgreSQL's low-level errors inside the block into :class:`StoreError` s:
    :class:`IndexUnreadableError`, or the server that is down.

    Usage: ``with reading(settings): hits = store.vectors.similarity_search(...)``

    A damaged vector index file is sometimes only noticed by the first search, not when opening.
    """
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        down = record_db_unreachable(settings, exc)
        if down is not None:  # checked first: PostgreSQL's files are not ours to rebuild
            raise down from exc
        if isinstance(exc, UNREADABLE):
            if settings.chroma_host:  # the server's files are the server's business, not a local rebuild's
                raise server_unreachable(settings, exc) from exc
            raise unreadable_error(settings, exc) from exc
        if isinstance(exc, (httpx.TransportError, ConnectionError)):
            raise server_unreachable(settings, exc) from exc
        raise


@contextmanager
def ingest_lock(settings: Settings) -> Iterator[None]:
    """Hold the index's writer lock; a second writer gets :class:`IndexBusyError` at once.

    Usage: ``with ingest_lock(settings): ...``

    The lock is an flock, so it is released by the kernel even when the holder is killed —
    a crashed ingestion never leaves the index locked.
    """
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    path = settings.index_dir / "ingest.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise IndexBusyError(
                f"Another ingestion ({holder}) is writing to {settings.index_dir}; wait for it to finish and try again."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)

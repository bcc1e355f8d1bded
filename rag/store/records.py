"""The record manager: which chunk hashes are in the collection, per source article, on SQLite or PostgreSQL.

Usage::

    records = open_records(settings)                 # LangChain's SQLRecordManager, made safe for several writers
    records.list_keys(group_ids=["/corpus/a.txt"])
    with records.lock: ...                           # one batch's write (rag.store.database.WriteLock)

The invariant every writer keeps, one short write under ``records.lock`` at a time: a chunk is recorded
exactly when the collection, the keyword index and the catalogue hold it.
:class:`rag.store.chroma.IndexedChroma` records what it writes in the same locked write, and deletes
the records of what it deletes; what LangChain's ``index()`` does to the records on its own only
refreshes the time of records that still exist (:meth:`Records.update`). So two ingestions on two
machines sharing one PostgreSQL record database and one Chroma server can run at once, each
embedding outside the lock.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_classic.indexes import SQLRecordManager

from rag.settings import Settings
from rag.store.chroma import server_url
from rag.store.database import WriteLock


class Records(SQLRecordManager):
    """LangChain's SQL record manager with the write lock of its namespace.

    Usage: ``Records(namespace="chroma/local/newsqa", db_url="sqlite:///records.sqlite")``
    """

    def __init__(self, namespace: str, **kwargs: object) -> None:
        super().__init__(namespace, **kwargs)  # type: ignore[arg-type]
        self.lock = WriteLock(self.engine, namespace)

    def record(self, keys: Sequence[str], group_ids: Sequence[str | None]) -> None:
        """Record these chunks as written (inside the caller's locked write of them)."""
        super().update(keys, group_ids=group_ids)

    def update(
        self,
        keys: Sequence[str],
        *,
        group_ids: Sequence[str | None] | None = None,
        time_at_least: float | None = None,
    ) -> None:
        """Refresh the time of the records among ``keys`` that still exist; creates none.

        LangChain's ``index()`` calls this for chunks it found recorded and for those it has just
        written (which :class:`rag.store.chroma.IndexedChroma` recorded already). A record another
        writer deleted in between, with its vectors, stays deleted: re-creating it would record a
        chunk the collection no longer holds. The next ingestion of the article writes it again.
        """
        if not any(self.exists(keys)):
            # Nothing to refresh (the chunks of a batch whose write still waits behind, see
            # rag.store.writer): no need to wait for the lock that write holds.
            return
        with self.lock:
            present = self.exists(keys)
            kept = [i for i, ok in enumerate(present) if ok]
            if kept:
                groups = [group_ids[i] for i in kept] if group_ids is not None else None
                super().update([keys[i] for i in kept], group_ids=groups, time_at_least=time_at_least)

    def create_schema(self) -> None:
        """Make the record table unless it exists (one process at a time on PostgreSQL: the first makes it)."""
        with WriteLock(self.engine, "newsqa record schema"):
            super().create_schema()


def open_records(settings: Settings) -> Records:
    """The record manager of these settings' collection, its table made if missing.

    Usage: ``open_records(settings).list_keys(group_ids=["/corpus/a.txt"])``
    """
    if settings.record_db_url:
        # Shared by every machine that uses one Chroma server, so none re-embeds the chunks another
        # already wrote, and all search one keyword index (it lives in this database too).
        db_url = settings.record_db_url
    else:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        db_url = f"sqlite:///{(settings.index_dir / 'records.sqlite').resolve()}"
    # Readers and a writer share the file; wait for a lock instead of failing at once.
    engine_kwargs: dict[str, object] = {"connect_args": {"timeout": 60}}
    if not db_url.startswith("sqlite"):
        # A connection the server dropped (a restart) is noticed and replaced before use. No JIT: a
        # keyword search that runs in 5 ms spent 310 ms compiling (measured on XQuAD's 875 passages).
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"options": "-c jit=off"}}
    namespace = f"chroma/{server_url(settings) if settings.chroma_host else 'local'}/{settings.collection}"
    records = Records(namespace=namespace, db_url=db_url, engine_kwargs=engine_kwargs)
    records.create_schema()
    return records

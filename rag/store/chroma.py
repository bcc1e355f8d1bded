"""The Chroma side of the store: the client (embedded or a server's) and the vector store that writes
the keyword index and the catalogue with every add and delete.

Usage::

    client = open_client(settings)              # a server's when NEWSQA_CHROMA_HOST is set, else embedded
    vectors = IndexedChroma(tables, records, client=client, collection_name="newsqa", embedding_function=e)
    with vectors.writing_behind(): ...          # each batch written while the next one is encoded
    forget_clients()                            # as a new process would: reopen the files next time
    raise server_unreachable(settings, exc)     # the server is down: a ChromaServerError saying so

Every write to the collection goes through :class:`IndexedChroma`: it embeds the passages first, then
takes the record manager's write lock (:class:`rag.store.database.WriteLock`) only for the write
itself, the Chroma upsert, the keyword index and catalogue rows and the records, in that order (a
crash in between leaves chunks without records, which a re-run writes again). Deleting is the same
write backwards. Ingestions on several machines sharing a PostgreSQL record database and a Chroma
server so embed at once and take turns only for the writes. Inside
:meth:`IndexedChroma.writing_behind` (what an ingestion does) that write runs on a background thread
(:mod:`rag.store.writer`) while the next batch is encoded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import chromadb
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma

from rag.settings import Settings
from rag.store.errors import ChromaServerError, StoreError, unreadable_error
from rag.store.tables import SearchTables
from rag.store.writer import BackgroundWriter

if TYPE_CHECKING:
    from rag.store.records import Records


class IndexedChroma(Chroma):
    """LangChain's Chroma store that writes the keyword index, the catalogue and the records with every
    add and delete, in one short locked write.

    Usage: ``IndexedChroma(tables, records, client=client, collection_name="newsqa", embedding_function=e)``
    """

    def __init__(self, tables: SearchTables, records: Records, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tables = tables
        self.records = records
        self.writer: BackgroundWriter | None = None

    @contextmanager
    def writing_behind(self) -> Iterator[None]:
        """Inside the block, :meth:`add_texts` hands each batch's write to a background thread and returns,
        so the caller encodes the next batch meanwhile; every write is done when the block ends.

        Usage: ``with store.vectors.writing_behind(): index(...)``

        A failed write's error is raised in the caller: by its next ``add_texts``, by :meth:`delete` or
        :meth:`flush`, or at the end of the block. If the block fails, the writes still queued are dropped
        (none of them recorded) and the block waits only for the one in progress: nothing is written from
        here after the block, so the ingestion's lock is never released while a write still runs.
        """
        if self.writer is not None:
            raise RuntimeError("writing_behind() is already active on this store")
        writer = self.writer = BackgroundWriter()
        try:
            yield
        except BaseException:
            writer.close(cancel=True)
            raise
        finally:
            self.writer = None
        writer.close()

    def flush(self) -> None:
        """Wait for the writes handed to the background thread; raise the error of one that failed."""
        if self.writer is not None:
            self.writer.flush()

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict] | None = None,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        texts = list(texts)
        keys = [key or str(uuid.uuid4()) for key in ids] if ids else [str(uuid.uuid4()) for _ in texts]
        metas = list(metadatas or []) + [{}] * (len(texts) - len(metadatas or []))
        vectors = self.embeddings.embed_documents(texts)  # the slow part: outside the lock
        if self.writer is None:
            self._write(keys, texts, vectors, metas)
        else:
            self.writer.submit(lambda: self._write(keys, texts, vectors, metas))
        return keys

    def _write(self, keys: list[str], texts: list[str], vectors: list[list[float]], metas: list[dict]) -> None:
        with self.records.lock:
            # Chroma refuses an empty metadata dict; None is "no metadata".
            self._collection.upsert(ids=keys, embeddings=vectors, documents=texts, metadatas=[m or None for m in metas])
            self.tables.add(keys, texts, metas)
            self.records.record(keys, [m.get("source") for m in metas])  # last: recorded once all hold it

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> None:
        self.flush()  # a queued write may hold the same ids or the same articles' catalogue rows
        if not ids:
            super().delete(ids=ids, **kwargs)
            return
        with self.records.lock:
            super().delete(ids=ids, **kwargs)
            self.tables.delete(ids)
            self.records.delete_keys(ids)


def chroma_dir(settings: Settings) -> Path:
    """The folder of the embedded Chroma database."""
    return settings.index_dir / "chroma"


@lru_cache(maxsize=4)
def _persistent_client(path: str) -> chromadb.ClientAPI:
    # One client per path per process: Chroma keeps a process-wide system per path anyway,
    # and re-creating it on every question would cost a few ms each.
    return chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True))


@lru_cache(maxsize=4)
def _http_client(host: str, port: int, ssl: bool, token: str | None) -> chromadb.ClientAPI:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return chromadb.HttpClient(
        host=host, port=port, ssl=ssl, headers=headers, settings=ChromaSettings(anonymized_telemetry=False)
    )


def forget_clients() -> None:
    """Drop every embedded client this process holds, so the next one reads the files afresh.

    Usage: ``forget_clients()`` after another process rebuilt the index, or to act as a new process.
    """
    _persistent_client.cache_clear()
    SharedSystemClient.clear_system_cache()


def open_client(settings: Settings) -> chromadb.ClientAPI:
    """The Chroma client for these settings: a server's when ``chroma_host`` is set, else embedded.

    Usage: ``settings.collection in collection_names(open_client(settings))``
    """
    if settings.chroma_host:
        token = settings.chroma_token.get_secret_value() if settings.chroma_token else None
        try:
            return _http_client(settings.chroma_host, settings.chroma_port, settings.chroma_ssl, token)
        except Exception as exc:  # chromadb raises bare ValueError/ConnectionError variants here
            raise server_unreachable(settings, exc) from exc
    path = chroma_dir(settings)
    path.mkdir(parents=True, exist_ok=True)
    try:
        return _persistent_client(str(path.resolve()))
    except Exception as exc:  # Chroma cannot open its own files: nothing else fails here
        # A failed start leaves a half-built system in Chroma's process-wide cache, and every later
        # client for this path would fail with an unrelated AttributeError: forget it.
        forget_clients()
        raise unreadable_error(settings, exc) from exc


def collection_names(client: chromadb.ClientAPI) -> set[str]:
    """The names of the client's collections (Chroma returns names or collections, by version)."""
    return {c if isinstance(c, str) else c.name for c in client.list_collections()}


def server_url(settings: Settings) -> str:
    """The configured Chroma server's URL: ``http://host:port``."""
    scheme = "https" if settings.chroma_ssl else "http"
    return f"{scheme}://{settings.chroma_host}:{settings.chroma_port}"


def server_unreachable(settings: Settings, error: BaseException) -> StoreError:
    """The error a user sees while the Chroma server is down or unreachable."""
    detail = " ".join(str(error).split())[:160] or type(error).__name__
    return ChromaServerError(
        f"Cannot reach the Chroma server at {server_url(settings)} ({detail}). Check that it is running "
        "(`chroma run --path DIR --port PORT`) and NEWSQA_CHROMA_HOST / NEWSQA_CHROMA_PORT; newsqa "
        "carries on as soon as it is back."
    )

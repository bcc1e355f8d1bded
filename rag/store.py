"""The store: one Chroma collection of passages plus the record manager that tracks what is in it.

Usage::

    store = open_store(settings, embeddings)            # raises IndexMissingError before the first ingest
    store.vectors.similarity_search_with_relevance_scores("query: ...", k=4)
    with ingest_lock(settings): ...                      # one writer per index at a time
    with reading(settings): ...                          # Chroma/SQLite failures become IndexUnreadableError

The collection records the embedding model and its dimension when it is created, so an index built with
one model is never queried or extended with vectors of another. An index that Chroma or SQLite cannot
read (a damaged file, a disk that filled up) is reported as :class:`IndexUnreadableError`, whose message
says to run ``newsqa ingest --rebuild``; that command works even then (:func:`delete_index`).
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import chromadb
import httpx
import sqlalchemy.exc
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import InternalError
from langchain_chroma import Chroma
from langchain_classic.indexes import SQLRecordManager
from langchain_core.embeddings import Embeddings

from rag.settings import Settings

MODEL_KEY = "newsqa_embedding_model"
# The ``kind`` of the sentence records stored beside the passages: searched apart from passages.
SENTENCE = "sentence"
PASSAGES_ONLY = {"kind": {"$ne": SENTENCE}}
#: Records fetched per request when paging through the collection: bounds memory for big indexes.
PAGE = 5000
DIM_KEY = "newsqa_dimension"


class StoreError(RuntimeError):
    """A problem with the index that the user can act on; the message says how."""


class IndexMissingError(StoreError):
    pass


class IndexMismatchError(StoreError):
    pass


class IndexBusyError(StoreError):
    pass


class ChromaServerError(StoreError):
    """The configured Chroma server cannot be reached (down, restarting, wrong address)."""


class IndexUnreadableError(StoreError):
    """Chroma or SQLite cannot read the index files; only a rebuild helps."""


# What Chroma's Rust core and the record manager's SQLite raise when the files on disk are damaged,
# truncated or not what they should be (measured: "file is not a database", "database disk image is
# malformed", "Error loading hnsw index", "Error finding id").
_UNREADABLE = (InternalError, sqlite3.DatabaseError, sqlalchemy.exc.DatabaseError)


def _unreadable(settings: Settings, error: BaseException) -> StoreError:
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


@contextmanager
def reading(settings: Settings) -> Iterator[None]:
    """Turn Chroma's and SQLite's low-level errors inside the block into :class:`IndexUnreadableError`.

    Usage: ``with reading(settings): hits = store.vectors.similarity_search(...)``

    A damaged vector index file is sometimes only noticed by the first search, not when opening.
    """
    try:
        yield
    except StoreError:
        raise
    except _UNREADABLE as exc:
        if settings.chroma_host:  # the server's files are the server's business, not a local rebuild's
            raise server_unreachable(settings, exc) from exc
        raise _unreadable(settings, exc) from exc
    except (httpx.TransportError, ConnectionError) as exc:
        raise server_unreachable(settings, exc) from exc


@dataclass(frozen=True)
class Store:
    """An opened index: the LangChain vector store over the collection, and its record manager."""

    vectors: Chroma
    records: SQLRecordManager
    settings: Settings
    embeddings: Embeddings
    generation: str

    @property
    def collection(self) -> chromadb.Collection:
        return self.vectors._collection

    def count(self) -> int:
        return self.collection.count()

    def passage_pages(self, include: list[str]) -> Iterator[dict[str, Any]]:
        """The collection's passages (sentence records left out), ``PAGE`` at a time, as Chroma's ``get`` gives them.

        Usage: ``for page in store.passage_pages(["metadatas"]): page["ids"], page["metadatas"]``
        """
        offset = 0
        while True:
            page = self.collection.get(where=PASSAGES_ONLY, include=include, limit=PAGE, offset=offset)
            if not page["ids"]:
                return
            yield page
            if len(page["ids"]) < PAGE:
                return
            offset += len(page["ids"])

    def fresh(self) -> Store:
        """This store, or a reopened one if another process changed the index since it was opened.

        Embedded Chroma keeps the vector index in memory per process: a long-running chat would
        otherwise never find the articles a later ``newsqa ingest`` added (measured: the count
        grows, the search results do not).
        """
        if self.settings.chroma_host or _generation(self.settings) == self.generation:
            return self  # a Chroma server always answers from its current index
        _forget_clients()
        return open_store(self.settings, self.embeddings)


def _generation_file(settings: Settings) -> Path:
    return settings.index_dir / "generation"


def _generation(settings: Settings) -> str:
    try:
        return _generation_file(settings).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def mark_changed(settings: Settings) -> None:
    """Tell other processes that the index changed (ingestion calls this when it wrote anything)."""
    path = _generation_file(settings)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(f"{time.time_ns()}-{os.getpid()}", encoding="utf-8")
    os.replace(tmp, path)


def _forget_clients() -> None:
    _persistent_client.cache_clear()
    SharedSystemClient.clear_system_cache()


def chroma_dir(settings: Settings) -> Path:
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


def open_client(settings: Settings) -> chromadb.ClientAPI:
    """The Chroma client for these settings: a server's when ``chroma_host`` is set, else embedded."""
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
        _forget_clients()
        raise _unreadable(settings, exc) from exc


def server_url(settings: Settings) -> str:
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


def open_records(settings: Settings) -> SQLRecordManager:
    """The record manager: which chunk hashes are in the collection, per source article."""
    if settings.record_db_url:
        # Shared by every machine that ingests into one Chroma server, so none re-embeds the
        # chunks another already wrote.
        db_url, engine_kwargs = settings.record_db_url, {}
    else:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        db_url = f"sqlite:///{(settings.index_dir / 'records.sqlite').resolve()}"
        # Readers and a writer share the file; wait for a lock instead of failing at once.
        engine_kwargs = {"connect_args": {"timeout": 60}}
    namespace = f"chroma/{server_url(settings) if settings.chroma_host else 'local'}/{settings.collection}"
    records = SQLRecordManager(namespace=namespace, db_url=db_url, engine_kwargs=engine_kwargs)
    records.create_schema()
    return records


def _collection_names(client: chromadb.ClientAPI) -> set[str]:
    return {c if isinstance(c, str) else c.name for c in client.list_collections()}


def open_store(settings: Settings, embeddings: Embeddings, *, create: bool = False) -> Store:
    """Open the index for these settings; with ``create`` make it if it does not exist yet.

    Raises :class:`IndexMissingError`, :class:`IndexMismatchError` or, when the files cannot be
    read, :class:`IndexUnreadableError` (all :class:`StoreError`, with what to do in the message).
    """
    try:
        with reading(settings):
            return _open_store(settings, embeddings, create)
    except StoreError:
        raise
    except OSError as exc:  # e.g. the chroma folder replaced by a file, or not writable
        raise _unreadable(settings, exc) from exc


def _open_store(settings: Settings, embeddings: Embeddings, create: bool) -> Store:
    client = open_client(settings)
    model_id = getattr(embeddings, "model_id", type(embeddings).__name__)
    exists = settings.collection in _collection_names(client)
    if not exists and not create:
        raise IndexMissingError(
            f"No index yet in {settings.index_dir}: run `newsqa ingest` first "
            f"(it ingests {settings.corpus_dir}/ by default)."
        )
    if exists:
        meta = client.get_collection(settings.collection).metadata or {}
        built_with = meta.get(MODEL_KEY)
        if built_with != model_id:
            raise IndexMismatchError(
                f"The index in {settings.index_dir} was built with the embedding model "
                f"'{built_with}' ({meta.get(DIM_KEY)} dimensions), but the current setting "
                f"NEWSQA_EMBEDDING_MODEL is '{model_id}'. Rebuild it with `newsqa ingest --rebuild`, "
                "or set NEWSQA_EMBEDDING_MODEL back."
            )
        vectors = Chroma(
            client=client,
            collection_name=settings.collection,
            embedding_function=embeddings,
            create_collection_if_not_exists=False,
        )
    else:
        vectors = Chroma(
            client=client,
            collection_name=settings.collection,
            embedding_function=embeddings,
            collection_metadata={MODEL_KEY: model_id, DIM_KEY: _dimension(embeddings)},
            collection_configuration={"hnsw": {"space": "cosine"}},
        )
    records = open_records(settings)
    if not exists:
        # Records without their collection (the chroma folder was deleted or replaced) would make
        # ingestion skip every chunk as "unchanged" and leave the new collection empty.
        _clear_records(records)
    return Store(
        vectors=vectors,
        records=records,
        settings=settings,
        embeddings=embeddings,
        generation=_generation(settings),
    )


def _dimension(embeddings: Embeddings) -> int:
    dim = getattr(embeddings, "dimension", None)
    return int(dim) if dim else len(embeddings.embed_query("dimension probe"))


def _clear_records(records: SQLRecordManager) -> None:
    while keys := records.list_keys(limit=10_000):
        records.delete_keys(keys)


def delete_index(settings: Settings) -> None:
    """Remove the collection and its records (``newsqa ingest --rebuild``).

    An index that cannot be opened at all is moved aside and removed instead, so a rebuild is
    always possible (other collections in the same folder are lost then).
    """
    try:
        client = open_client(settings)
        if settings.collection in _collection_names(client):
            client.delete_collection(settings.collection)
        if (settings.index_dir / "records.sqlite").exists():
            _clear_records(open_records(settings))
    except (IndexUnreadableError, *_UNREADABLE, OSError):
        wipe_unreadable_index(settings)


def wipe_unreadable_index(settings: Settings) -> None:
    """Last resort for an index Chroma cannot open at all: move it aside, keep nothing."""
    target = chroma_dir(settings)
    if target.exists() or target.is_symlink():
        # Moved aside first, so the new index can be created under the old name even if removing
        # the damaged files fails half-way.
        aside = target.with_name(f"chroma.broken-{os.getpid()}")
        shutil.move(str(target), str(aside))
        if aside.is_dir() and not aside.is_symlink():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            aside.unlink(missing_ok=True)
    (settings.index_dir / "records.sqlite").unlink(missing_ok=True)
    _forget_clients()


@contextmanager
def ingest_lock(settings: Settings) -> Iterator[None]:
    """Hold the index's writer lock; a second writer gets :class:`IndexBusyError` at once.

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

"""The store: one Chroma collection of passages plus the record manager that tracks what is in it.

Usage::

    store = open_store(settings, embeddings)            # raises IndexMissingError before the first ingest
    store.vectors.similarity_search_with_relevance_scores("query: ...", k=4)
    with ingest_lock(settings): ...                      # one writer per index at a time

The collection records the embedding model and its dimension when it is created, so an index built with
one model is never queried or extended with vectors of another.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import chromadb
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_classic.indexes import SQLRecordManager
from langchain_core.embeddings import Embeddings

from rag.settings import Settings

MODEL_KEY = "newsqa_embedding_model"
DIM_KEY = "newsqa_dimension"


class StoreError(RuntimeError):
    """A problem with the index that the user can act on; the message says how."""


class IndexMissingError(StoreError):
    pass


class IndexMismatchError(StoreError):
    pass


class IndexBusyError(StoreError):
    pass


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

    def fresh(self) -> Store:
        """This store, or a reopened one if another process changed the index since it was opened.

        Embedded Chroma keeps the vector index in memory per process: a long-running chat would
        otherwise never find the articles a later ``newsqa ingest`` added (measured: the count
        grows, the search results do not).
        """
        if _generation(self.settings) == self.generation:
            return self
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
    return chromadb.PersistentClient(
        path=path, settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    )


def open_client(settings: Settings) -> chromadb.ClientAPI:
    """The Chroma client for these settings (embedded, persistent under the index dir)."""
    path = chroma_dir(settings)
    path.mkdir(parents=True, exist_ok=True)
    return _persistent_client(str(path.resolve()))


def open_records(settings: Settings) -> SQLRecordManager:
    """The record manager: which chunk hashes are in the collection, per source article."""
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    db = (settings.index_dir / "records.sqlite").resolve()
    records = SQLRecordManager(
        namespace=f"chroma/{settings.collection}",
        db_url=f"sqlite:///{db}",
        # Readers and a writer share the file; wait for a lock instead of failing at once.
        engine_kwargs={"connect_args": {"timeout": 60}},
    )
    records.create_schema()
    return records


def _collection_names(client: chromadb.ClientAPI) -> set[str]:
    return {c if isinstance(c, str) else c.name for c in client.list_collections()}


def open_store(settings: Settings, embeddings: Embeddings, *, create: bool = False) -> Store:
    """Open the index for these settings; with ``create`` make it if it does not exist yet."""
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
    return Store(
        vectors=vectors,
        records=open_records(settings),
        settings=settings,
        embeddings=embeddings,
        generation=_generation(settings),
    )


def _dimension(embeddings: Embeddings) -> int:
    dim = getattr(embeddings, "dimension", None)
    return int(dim) if dim else len(embeddings.embed_query("dimension probe"))


def delete_index(settings: Settings) -> None:
    """Remove the collection and its records (``newsqa ingest --rebuild``)."""
    client = open_client(settings)
    if settings.collection in _collection_names(client):
        client.delete_collection(settings.collection)
    db = settings.index_dir / "records.sqlite"
    if db.exists():
        records = open_records(settings)
        while keys := records.list_keys(limit=10_000):
            records.delete_keys(keys)


def wipe_unreadable_index(settings: Settings) -> None:
    """Last resort for an index Chroma cannot open at all: move it aside, keep nothing."""
    target = chroma_dir(settings)
    if target.exists():
        aside = target.with_name(f"chroma.broken-{os.getpid()}")
        shutil.move(str(target), str(aside))
        shutil.rmtree(aside, ignore_errors=True)
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
                f"Another ingestion ({holder}) is writing to {settings.index_dir}; "
                "wait for it to finish and try again."
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

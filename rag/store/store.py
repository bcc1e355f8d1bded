"""The opened index: one Chroma collection of passages, its record manager, the keyword index and catalogue.

Usage::

    store = open_store(settings, embeddings)            # raises IndexMissingError before the first ingest
    store.vectors.similarity_search_with_relevance_scores("query: ...", k=4)
    store.keywords.search(["soldat"], k=20); store.catalogue.articles(0, 50)
    store = store.fresh()                                # reopened if another process wrote since
    delete_index(settings)                               # `newsqa ingest --rebuild`, even of a damaged index

An index that cannot be read is reported as :class:`rag.store.errors.IndexUnreadableError`, whose
message says to run ``newsqa ingest --rebuild``; that command works even then (:func:`delete_index`).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import chromadb
from langchain_core.embeddings import Embeddings

from rag.settings import Settings
from rag.store.catalogue import Catalogue
from rag.store.chroma import IndexedChroma, chroma_dir, collection_names, forget_clients, open_client
from rag.store.errors import UNREADABLE, IndexMissingError, IndexUnreadableError, StoreError, unreadable_error
from rag.store.keywords import KeywordIndex
from rag.store.locking import reading
from rag.store.marker import generation
from rag.store.metadata import DIM_KEY, check_metadata, collection_metadata, dimension
from rag.store.records import Records, open_records
from rag.store.tables import SearchTables
from rag.text.sentences import SENTENCE

log = logging.getLogger(__name__)

#: A Chroma filter that leaves out the sentence records stored beside the passages.
PASSAGES_ONLY = {"kind": {"$ne": SENTENCE}}
#: Records fetched per request when paging through the collection: bounds memory for big indexes.
PAGE = 5000


@dataclass(frozen=True)
class Store:
    """An opened index: the LangChain vector store over the collection, its record manager, and the
    keyword index and catalogue beside the record manager."""

    vectors: IndexedChroma
    records: Records
    settings: Settings
    embeddings: Embeddings
    generation: str

    @property
    def keywords(self) -> KeywordIndex:
        """The keyword index (BM25 over the passages)."""
        return self.vectors.tables.keywords

    @property
    def catalogue(self) -> Catalogue:
        """The articles catalogue."""
        return self.vectors.tables.catalogue

    @property
    def collection(self) -> chromadb.Collection:
        """The Chroma collection itself (``store.collection.get(...)``)."""
        return self.vectors._collection

    def count(self) -> int:
        """How many records (passages and sentences) the collection holds."""
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

    def preload(self) -> threading.Thread | None:
        """Start reading the vector index into memory in the background; the thread, or None with a server.

        Embedded Chroma reads a collection's whole HNSW graph at the first query or write of a process
        (2.7 s at a million passages with the files in the page cache, more from a cold disk). Started
        right after opening, that read overlaps the models' load instead of following it. Nothing waits
        for the thread: the first real query shares Chroma's lock with it. Readers only (``ask``, the
        chat): a process that ingests would keep a graph read before another process's writes.

        Usage: ``store = open_store(settings, embeddings); store.preload()``
        """
        if self.settings.chroma_host:
            return None  # the server holds the graph
        size = (self.collection.metadata or {}).get(DIM_KEY) or dimension(self.embeddings)
        probe = [1.0] + [0.0] * (int(size) - 1)

        def load() -> None:
            try:
                self.collection.query(query_embeddings=[probe], n_results=1, include=[])
            except Exception as exc:  # noqa: BLE001 - a warm-up only; the real query reports real errors
                log.debug("preloading the vector index failed: %s", exc)

        thread = threading.Thread(target=load, name="newsqa-preload", daemon=True)
        thread.start()
        return thread

    def fresh(self) -> Store:
        """This store, or a reopened one if another process changed the index since it was opened.

        Usage: ``store = store.fresh()`` before each question of a long-running reader.

        Embedded Chroma keeps the vector index in memory per process: a long-running chat would
        otherwise never find the articles a later ``newsqa ingest`` added (measured: the count
        grows, the search results do not).
        """
        if self.settings.chroma_host or generation(self.settings) == self.generation:
            return self  # a Chroma server always answers from its current index
        forget_clients()
        return open_store(self.settings, self.embeddings)


def open_store(settings: Settings, embeddings: Embeddings, *, create: bool = False) -> Store:
    """Open the index for these settings; with ``create`` make it if it does not exist yet.

    Usage: ``open_store(settings, get_embeddings(settings), create=True)``

    Raises :class:`IndexMissingError`, :class:`IndexMismatchError` (built with other index settings)
    or, when the files cannot be read, :class:`IndexUnreadableError` (all :class:`StoreError`, with
    what to do in the message).
    """
    try:
        with reading(settings):
            return _open_store(settings, embeddings, create)
    except StoreError:
        raise
    except OSError as exc:  # e.g. the chroma folder replaced by a file, or not writable
        raise unreadable_error(settings, exc) from exc


def _open_store(settings: Settings, embeddings: Embeddings, create: bool) -> Store:
    client = open_client(settings)
    exists = settings.collection in collection_names(client)
    if not exists and not create:
        raise IndexMissingError(
            f"No index yet in {settings.index_dir}: run `newsqa ingest` first "
            f"(it ingests {settings.corpus_dir}/ by default)."
        )
    records = open_records(settings)
    tables = SearchTables.open(records)
    if not exists:
        # Under the write lock, asked again: an ingestion on another machine may have made the
        # collection since, and its records must not be cleared below.
        with records.lock:
            exists = settings.collection in collection_names(client)
            if not exists:
                IndexedChroma(
                    tables,
                    records,
                    client=client,
                    collection_name=settings.collection,
                    embedding_function=embeddings,
                    collection_metadata=collection_metadata(settings, embeddings),
                    collection_configuration={"hnsw": {"space": "cosine"}},
                )
                # Records without their collection (the chroma folder was deleted or replaced) would make
                # ingestion skip every chunk as "unchanged" and leave the new collection empty.
                _clear_records(records)
    if exists:
        check_metadata(settings, client.get_collection(settings.collection).metadata or {}, embeddings)
    vectors = IndexedChroma(
        tables,
        records,
        client=client,
        collection_name=settings.collection,
        embedding_function=embeddings,
        create_collection_if_not_exists=False,
    )
    store = Store(
        vectors=vectors, records=records, settings=settings, embeddings=embeddings, generation=generation(settings)
    )
    if not tables.exists():
        if exists and store.count():
            log.warning(
                "Building the keyword index and articles catalogue of %s once (the index predates them) ...",
                settings.index_dir,
            )
        filled = tables.create(store.passage_pages(["documents", "metadatas"]) if exists else ())
        if filled:
            log.warning("Indexed %d passages for keyword search and the catalogue.", filled)
    return store


def _clear_records(records: Records) -> None:
    while keys := records.list_keys(limit=10_000):
        records.delete_keys(keys)
    tables = SearchTables.open(records)
    if tables.exists():
        tables.clear()


def delete_index(settings: Settings) -> None:
    """Remove the collection and its records (``newsqa ingest --rebuild``).

    Usage: ``delete_index(settings)``

    An index that cannot be opened at all is moved aside and removed instead, so a rebuild is
    always possible (other collections in the same folder are lost then).
    """
    try:
        client = open_client(settings)
        if settings.collection in collection_names(client):
            client.delete_collection(settings.collection)
        if (settings.index_dir / "records.sqlite").exists():
            _clear_records(open_records(settings))
    except (IndexUnreadableError, *UNREADABLE, OSError):
        wipe_unreadable_index(settings)


def wipe_unreadable_index(settings: Settings) -> None:
    """Last resort for an index Chroma cannot open at all: move it aside, keep nothing.

    Usage: ``wipe_unreadable_index(settings)``
    """
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
    forget_clients()

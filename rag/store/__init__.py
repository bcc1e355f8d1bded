"""The store: one Chroma collection of passages plus the record manager that tracks what is in it.

Usage::

    from rag.store import ingest_lock, open_store, reading
    store = open_store(settings, embeddings)            # raises IndexMissingError before the first ingest
    store.vectors.similarity_search_with_relevance_scores("query: ...", k=4)
    with ingest_lock(settings): ...                      # one writer per index at a time
    with reading(settings): ...                          # Chroma/SQLite failures become IndexUnreadableError
    store.keywords.search(["soldat"], k=20)              # the keyword index: [(id, bm25 score), ...]
    store.keywords.query_terms("Wie viele Soldaten?")    # a question's terms as that index stores them
    store.catalogue.articles(offset=0, limit=50)         # the articles catalogue, a page of it

The components, one module each:

- :mod:`rag.store.errors`: :class:`StoreError` and its kinds, each message saying what to do;
- :mod:`rag.store.chroma`: the Chroma client (embedded or a server's) and :class:`IndexedChroma`;
- :mod:`rag.store.metadata`: what the collection records about how it was built, checked on open;
- :mod:`rag.store.records`: the record manager (LangChain's, on SQLite or PostgreSQL) and its write lock;
- :mod:`rag.store.database`, :mod:`rag.store.keywords`, :mod:`rag.store.keywords_pg`,
  :mod:`rag.store.catalogue`, :mod:`rag.store.tables`: the keyword index (BM25, over SQLite FTS5 or
  PostgreSQL ``tsvector``) and the articles catalogue, two sets of tables in the record manager's
  database, written together with every write to the collection;
- :mod:`rag.store.marker`: the generation file that tells readers another process wrote;
- :mod:`rag.store.locking`: the index folder's writer lock and :func:`reading`;
- :mod:`rag.store.store`: :class:`Store`, :func:`open_store`, :func:`delete_index`.

The rest of newsqa imports the names below from ``rag.store``.
"""

from rag.store.catalogue import Catalogue
from rag.store.chroma import IndexedChroma, chroma_dir, forget_clients, open_client, server_unreachable, server_url
from rag.store.errors import (
    ChromaServerError,
    IndexBusyError,
    IndexMismatchError,
    IndexMissingError,
    IndexUnreadableError,
    RecordDatabaseError,
    StoreError,
)
from rag.store.keywords import KeywordIndex
from rag.store.keywords_pg import PgKeywordIndex
from rag.store.locking import ingest_lock, reading
from rag.store.marker import mark_changed
from rag.store.metadata import DIM_KEY, MODEL_KEY
from rag.store.records import Records, open_records
from rag.store.store import (
    PAGE,
    PASSAGES_ONLY,
    Store,
    delete_index,
    open_store,
    wipe_unreadable_index,
)
from rag.text.sentences import SENTENCE

__all__ = [
    "DIM_KEY",
    "MODEL_KEY",
    "PAGE",
    "PASSAGES_ONLY",
    "SENTENCE",
    "Catalogue",
    "ChromaServerError",
    "IndexBusyError",
    "IndexMismatchError",
    "IndexMissingError",
    "IndexUnreadableError",
    "IndexedChroma",
    "KeywordIndex",
    "PgKeywordIndex",
    "RecordDatabaseError",
    "Records",
    "Store",
    "StoreError",
    "chroma_dir",
    "delete_index",
    "forget_clients",
    "ingest_lock",
    "mark_changed",
    "open_client",
    "open_records",
    "open_store",
    "reading",
    "server_unreachable",
    "server_url",
    "wipe_unreadable_index",
]

"""The store: one Chroma collection of passages plus the record manager that tracks what is in it.

Usage::

    store = open_store(settings, embeddings)            # raises IndexMissingError before the first ingest
    store.vectors.similarity_search_with_relevance_scores("query: ...", k=4)
    with ingest_lock(settings): ...                      # one writer per index at a time
    with reading(settings): ...                          # Chroma/SQLite failures become IndexUnreadableError
    store.keywords.search(["soldat"], k=20)               # the keyword index: [(id, bm25 score), ...]

The collection records the embedding model and its dimension when it is created, so an index built with
one model is never queried or extended with vectors of another. An index that Chroma or SQLite cannot
read (a damaged file, a disk that filled up) is reported as :class:`IndexUnreadableError`, whose message
says to run ``newsqa ingest --rebuild``; that command works even then (:func:`delete_index`).

Beside the record manager, in its database, live the keyword index (SQLite FTS5 over the passages'
stemmed terms) and the articles catalogue (:class:`Keywords`). Every write to the collection goes
through :class:`IndexedChroma`, which writes them in the same call, before the record manager is told
(LangChain's indexing API writes the vector store first): a crash in between leaves records that a
re-run completes, as for the vectors themselves. So no process ever rebuilds them from a scan; an index
made before they existed gets them filled once, when it is first opened.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
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
from rag.text.sentences import short_title
from rag.text.terms import terms

log = logging.getLogger(__name__)

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


def _rowid(key: str) -> int:
    """The keyword tables' integer row of a passage id: a 64-bit hash, so a write needs no id lookup."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def _transaction(engine: sqlalchemy.Engine) -> Iterator[sqlite3.Connection]:
    """One SQLite write transaction on the record manager's database, taken at once (BEGIN IMMEDIATE)."""
    with closing(engine.raw_connection()) as raw:
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


@dataclass(frozen=True)
class Keywords:
    """The keyword index and the articles catalogue: SQLite tables in the record manager's database.

    Usage::

        keywords = Keywords.open(records)      # keywords.exists(); keywords.create(pages) makes the tables
        keywords.add(ids, texts, metadatas)    # IndexedChroma does this with every write
        keywords.search(["soldat", "getot"], k=20, sources={"/corpus/a.txt"})
        keywords.articles(offset=0, limit=50)  # [(source, name, title, date, url, chunks), ...]

    One FTS5 table holds each passage's stemmed terms (:func:`rag.text.terms.terms`) and ranks by its
    built-in BM25; ``passages`` maps its rows to the store's ids and articles; ``articles`` is the
    catalogue (the metadata of each article's latest written passage and its passage count). Sentence
    records are not indexed: keyword search ranks passages. Tables are per record-manager namespace,
    so collections sharing one database stay apart.
    """

    engine: sqlalchemy.Engine
    prefix: str

    @classmethod
    def open(cls, records: SQLRecordManager) -> Keywords:
        if records.engine.dialect.name != "sqlite":
            raise StoreError(
                "The keyword index and the articles catalogue live in the record manager's database and need "
                f"SQLite (FTS5); NEWSQA_RECORD_DB_URL is a {records.engine.dialect.name} URL. Use a sqlite:/// "
                "URL that every machine reaches."
            )
        return cls(records.engine, "kw_" + hashlib.sha1(records.namespace.encode()).hexdigest()[:12])

    def exists(self) -> bool:
        return bool(self._read("SELECT 1 FROM sqlite_master WHERE name = ?", (f"{self.prefix}_stats",)))

    def create(self, pages: Iterable[dict[str, Any]] = ()) -> int:
        """Create the tables, filled from these pages of passages (:meth:`Store.passage_pages`), in one
        transaction: no process ever sees them half-filled. Nothing happens if another process was first.

        Returns how many passages it indexed (0 when another process had created the tables).
        """
        with _transaction(self.engine) as conn:
            if not self._create(conn):
                return 0
            count = 0
            for page in pages:
                docs, metas = page["documents"], page["metadatas"]
                rows = [(k, d or "", m or {}) for k, d, m in zip(page["ids"], docs, metas)]
                self._write(conn, rows)
                count += len(rows)
            return count

    def _create(self, conn: sqlite3.Connection) -> bool:
        """Create the tables unless another process just did; True if this call created them."""
        p = self.prefix
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (f"{p}_stats",)).fetchone():
            return False
        # detail=full although BM25 needs no positions: measured, ranking is 4x faster than with
        # detail=column or none (25 vs 100 ms for a question over 10k passages).
        tokenizer = "unicode61 remove_diacritics 0 tokenchars '_'"
        conn.execute(f'CREATE VIRTUAL TABLE {p}_fts USING fts5(terms, tokenize="{tokenizer}")')
        # How many passages hold each term, kept with every write: FTS5's own count (fts5vocab) walks the
        # term's whole posting list, 26 ms a question at 100k passages, more as the index grows.
        conn.execute(f"CREATE TABLE {p}_terms (term TEXT PRIMARY KEY, passages INTEGER NOT NULL) WITHOUT ROWID")
        conn.execute(
            f"CREATE TABLE {p}_passages (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, source TEXT NOT NULL, "
            "length INTEGER NOT NULL)"
        )
        conn.execute(f"CREATE INDEX {p}_passages_source ON {p}_passages (source)")
        conn.execute(
            f"CREATE TABLE {p}_articles (source TEXT PRIMARY KEY, name TEXT, title TEXT, date TEXT, url TEXT, "
            "sort_key TEXT NOT NULL, chunks INTEGER NOT NULL DEFAULT 0)"
        )
        conn.execute(f"CREATE INDEX {p}_articles_order ON {p}_articles (sort_key, source)")
        # Passages and their terms in all, kept with every write: BM25 needs both per question (its idf
        # and the average length) and counting them would be a scan.
        conn.execute(f"CREATE TABLE {p}_stats (passages INTEGER NOT NULL, terms INTEGER NOT NULL)")
        conn.execute(f"INSERT INTO {p}_stats VALUES (0, 0)")
        return True

    # --- writing: called by IndexedChroma with every write to the collection ------------------------

    def add(self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any] | None]) -> None:
        """Index these records' passages (sentence records are skipped); an id already indexed is replaced."""
        rows = [(key, text, meta or {}) for key, text, meta in zip(ids, texts, metadatas)]
        rows = [(key, text, meta) for key, text, meta in rows if meta.get("kind") != SENTENCE]
        if rows:
            with _transaction(self.engine) as conn:
                self._write(conn, rows)

    def _write(self, conn: sqlite3.Connection, rows: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        p = self.prefix
        removed, removed_terms, sources = self._remove(conn, [key for key, _, _ in rows])
        words = [terms(text) for _, text, _ in rows]
        self._count_terms(conn, words, +1)
        conn.executemany(
            f"INSERT INTO {p}_passages (rowid, id, source, length) VALUES (?, ?, ?, ?)",
            [(_rowid(key), key, str(meta.get("source", "")), len(w)) for (key, _, meta), w in zip(rows, words)],
        )
        conn.executemany(
            f"INSERT INTO {p}_fts (rowid, terms) VALUES (?, ?)",
            [(_rowid(key), " ".join(w)) for (key, _, _), w in zip(rows, words)],
        )
        latest = {str(meta.get("source", "")): meta for _, _, meta in rows}
        conn.executemany(
            f"INSERT INTO {p}_articles (source, name, title, date, url, sort_key) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (source) DO UPDATE SET name = excluded.name, title = excluded.title, "
            "date = excluded.date, url = excluded.url, sort_key = excluded.sort_key",
            [_article_row(source, meta) for source, meta in latest.items()],
        )
        self._recount(conn, set(latest) | sources)
        added_terms = sum(len(w) for w in words)
        conn.execute(
            f"UPDATE {p}_stats SET passages = passages + ?, terms = terms + ?",
            (len(rows) - removed, added_terms - removed_terms),
        )

    def delete(self, ids: Sequence[str]) -> None:
        """Drop these records' passages (ids that are not indexed are ignored) and articles left without any."""
        with _transaction(self.engine) as conn:
            count, removed_terms, sources = self._remove(conn, ids)
            self._recount(conn, sources)
            conn.execute(
                f"UPDATE {self.prefix}_stats SET passages = passages - ?, terms = terms - ?", (count, removed_terms)
            )

    def _remove(self, conn: sqlite3.Connection, ids: Sequence[str]) -> tuple[int, int, set[str]]:
        """Delete these passages' rows: how many there were, their terms in all, and their articles."""
        p = self.prefix
        rows = [(_rowid(key),) for key in ids]
        found: list[tuple[str, int, str]] = []
        for chunk in range(0, len(rows), 500):  # SQLite's limit on bound parameters
            part = [r[0] for r in rows[chunk : chunk + 500]]
            marks = ",".join("?" * len(part))
            found += conn.execute(
                f"SELECT p.source, p.length, f.terms FROM {p}_passages AS p JOIN {p}_fts AS f ON f.rowid = p.rowid "
                f"WHERE p.rowid IN ({marks})",
                part,
            ).fetchall()
        if found:
            self._count_terms(conn, [text.split() for _, _, text in found], -1)
            conn.executemany(f"DELETE FROM {p}_passages WHERE rowid = ?", rows)
            conn.executemany(f"DELETE FROM {p}_fts WHERE rowid = ?", rows)
        return len(found), sum(length for _, length, _ in found), {source for source, _, _ in found}

    def _count_terms(self, conn: sqlite3.Connection, passages: Iterable[list[str]], sign: int) -> None:
        """Add (``sign=+1``) or take away (``-1``) these passages in the terms' passage counts."""
        counts = Counter(term for words in passages for term in set(words))
        conn.executemany(
            f"INSERT INTO {self.prefix}_terms (term, passages) VALUES (?, ?) "
            "ON CONFLICT (term) DO UPDATE SET passages = passages + excluded.passages",
            [(term, sign * n) for term, n in counts.items()],
        )
        if sign < 0:
            conn.executemany(
                f"DELETE FROM {self.prefix}_terms WHERE term = ? AND passages <= 0", [(t,) for t in counts]
            )

    def _recount(self, conn: sqlite3.Connection, sources: Iterable[str]) -> None:
        p = self.prefix
        conn.executemany(
            f"UPDATE {p}_articles SET chunks = (SELECT COUNT(*) FROM {p}_passages WHERE source = ?) WHERE source = ?",
            [(s, s) for s in sources],
        )
        conn.executemany(f"DELETE FROM {p}_articles WHERE source = ? AND chunks = 0", [(s,) for s in sources])

    def clear(self) -> None:
        p = self.prefix
        with _transaction(self.engine) as conn:
            for table in ("fts", "passages", "articles", "terms"):
                conn.execute(f"DELETE FROM {p}_{table}")
            conn.execute(f"UPDATE {p}_stats SET passages = 0, terms = 0")

    # --- reading ----------------------------------------------------------------------------------

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with closing(self.engine.raw_connection()) as raw:
            return raw.driver_connection.execute(sql, params).fetchall()

    def passage_count(self) -> int:
        return self.stats()[0]

    def stats(self) -> tuple[int, int]:
        """``(passages, terms)``: how many passages are indexed and how many terms they hold in all."""
        passages, words = self._read(f"SELECT passages, terms FROM {self.prefix}_stats")[0]
        return int(passages), int(words)

    def terms_of(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """The indexed terms of these passages, by id (ids not indexed are left out)."""
        p = self.prefix
        out: dict[str, list[str]] = {}
        for chunk in range(0, len(ids), 500):
            part = [_rowid(key) for key in ids[chunk : chunk + 500]]
            marks = ",".join("?" * len(part))
            sql = f"SELECT p.id, f.terms FROM {p}_passages AS p JOIN {p}_fts AS f ON f.rowid = p.rowid"
            out |= {key: text.split() for key, text in self._read(f"{sql} WHERE p.rowid IN ({marks})", part)}
        return out

    def frequencies(self, words: Sequence[str]) -> dict[str, int]:
        """How many passages hold each of these terms (terms in none are left out)."""
        if not words:
            return {}
        marks = ",".join("?" * len(words))
        sql = f"SELECT term, passages FROM {self.prefix}_terms WHERE term IN ({marks}) AND passages > 0"
        return dict(self._read(sql, list(words)))

    def search(self, words: Sequence[str], k: int, sources: set[str] | None = None) -> list[tuple[str, float]]:
        """The ``k`` passages that BM25 (k1=1.2, b=0.75) ranks best for any of ``words``: ``[(id, score), ...]``."""
        if not words or k < 1:
            return []
        p = self.prefix
        query = " OR ".join('"' + word.replace('"', '""') + '"' for word in words)
        only, params = "", [query]
        if sources:
            only = f" AND rowid IN (SELECT rowid FROM {p}_passages WHERE source IN ({','.join('?' * len(sources))}))"
            params += sorted(sources)
        rows = self._read(
            f"SELECT p.id, -s.score FROM (SELECT rowid, rank AS score FROM {p}_fts WHERE {p}_fts MATCH ?{only} "
            f"ORDER BY rank LIMIT ?) AS s JOIN {p}_passages AS p ON p.rowid = s.rowid ORDER BY s.score",
            [*params, k],
        )
        return [(key, float(score)) for key, score in rows]

    def sources_under(self, roots: Sequence[str]) -> list[str]:
        """The articles whose file is one of ``roots`` or lies under one (a catalogue range per root, no scan).

        Usage: ``keywords.sources_under(["/corpus"])  # ['/corpus/a.txt', '/corpus/feed.jsonl#1', ...]``
        """
        found: set[str] = set()
        table = f"{self.prefix}_articles"
        for root in roots:
            root = root.rstrip(os.sep) or os.sep
            # A folder's files ("root/..."), a file itself, or a .jsonl file's articles ("root#line").
            sql = f"SELECT source FROM {table} WHERE source = ? OR (source > ? AND source < ?) OR (source > ? AND source < ?)"
            params = (
                root,
                root + "#",
                root + "$",
                root.rstrip(os.sep) + os.sep,
                root.rstrip(os.sep) + chr(ord(os.sep) + 1),
            )
            found |= {source for (source,) in self._read(sql, params)}
        return sorted(found)

    def article_count(self, matching: str = "") -> int:
        """How many articles there are (whose label or file name holds every word of ``matching``)."""
        where, params = _matching(matching)
        return int(self._read(f"SELECT COUNT(*) FROM {self.prefix}_articles{where}", params)[0][0])

    def articles(
        self, offset: int = 0, limit: int | None = None, matching: str = ""
    ) -> list[tuple[str, str, str, str, str, int]]:
        """``(source, name, title, date, url, chunks)`` of the articles, sorted by title, one page of them;
        with ``matching``, only those whose label or file name holds every one of its words."""
        where, params = _matching(matching)
        return self._read(
            f"SELECT {_CATALOGUE_ROW} FROM {self.prefix}_articles{where} ORDER BY sort_key, source LIMIT ? OFFSET ?",
            (*params, -1 if limit is None else limit, offset),
        )

    def articles_of(self, sources: Sequence[str]) -> list[tuple[str, str, str, str, str, int]]:
        """The same rows for the given articles (by primary key), sorted by title."""
        marks = ",".join("?" * len(sources))
        if not marks:
            return []
        return self._read(
            f"SELECT {_CATALOGUE_ROW} FROM {self.prefix}_articles WHERE source IN ({marks}) ORDER BY sort_key, source",
            tuple(sources),
        )


#: The catalogue's columns a reader gets, in the order rag.retrieval.catalog unpacks them.
_CATALOGUE_ROW = "source, name, title, date, url, chunks"


def _matching(text: str) -> tuple[str, tuple[str, ...]]:
    """A WHERE clause: every word of ``text`` in the article's label (``sort_key``, lower case) or file name.

    A LIKE over the catalogue, one row an article (tens of milliseconds at a hundred thousand), asked
    only when a reader searches the list.
    """
    words = text.lower().split()[:8]
    if not words:
        return "", ()
    escaped = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in words]
    clause = " AND ".join("(sort_key LIKE ? ESCAPE '\\' OR lower(name) LIKE ? ESCAPE '\\')" for _ in words)
    return f" WHERE {clause}", tuple(p for w in escaped for p in (f"%{w}%", f"%{w}%"))


def _article_row(source: str, meta: dict[str, Any]) -> tuple[str, str, str, str | None, str | None, str]:
    name = str(meta.get("name") or source.rsplit("/", 1)[-1])
    title = str(meta.get("title") or "")
    # The order readers see: the label ArticleInfo shows (its title's first sentence, or the file name).
    return (
        source,
        name,
        title,
        meta.get("date") or None,
        meta.get("url") or None,
        short_title(title or name, 80).lower(),
    )


class IndexedChroma(Chroma):
    """LangChain's Chroma store that writes the keyword index and catalogue with every add and delete.

    Usage: ``IndexedChroma(keywords, client=client, collection_name="newsqa", embedding_function=e)``
    """

    def __init__(self, keywords: Keywords, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keywords = keywords

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict] | None = None,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        texts = list(texts)
        written = super().add_texts(texts, metadatas, ids=ids, **kwargs)
        self.keywords.add(written, texts, metadatas or [{}] * len(texts))
        return written

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> None:
        super().delete(ids=ids, **kwargs)
        if ids:
            self.keywords.delete(ids)


@dataclass(frozen=True)
class Store:
    """An opened index: the LangChain vector store over the collection, its record manager, and the
    keyword index and catalogue beside the record manager."""

    vectors: IndexedChroma
    records: SQLRecordManager
    keywords: Keywords
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
        dimension = (self.collection.metadata or {}).get(DIM_KEY) or _dimension(self.embeddings)
        probe = [1.0] + [0.0] * (int(dimension) - 1)

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
        # Shared by every machine that uses one Chroma server, so none re-embeds the chunks another
        # already wrote, and all search one keyword index (it lives in this database too).
        db_url = settings.record_db_url
    else:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        db_url = f"sqlite:///{(settings.index_dir / 'records.sqlite').resolve()}"
    # Readers and a writer share the file; wait for a lock instead of failing at once.
    engine_kwargs = {"connect_args": {"timeout": 60}} if db_url.startswith("sqlite") else {}
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
    records = open_records(settings)
    keywords = Keywords.open(records)
    if exists:
        vectors = IndexedChroma(
            keywords,
            client=client,
            collection_name=settings.collection,
            embedding_function=embeddings,
            create_collection_if_not_exists=False,
        )
    else:
        vectors = IndexedChroma(
            keywords,
            client=client,
            collection_name=settings.collection,
            embedding_function=embeddings,
            collection_metadata={MODEL_KEY: model_id, DIM_KEY: _dimension(embeddings)},
            collection_configuration={"hnsw": {"space": "cosine"}},
        )
    if not exists:
        # Records without their collection (the chroma folder was deleted or replaced) would make
        # ingestion skip every chunk as "unchanged" and leave the new collection empty.
        _clear_records(records)
    store = Store(
        vectors=vectors,
        records=records,
        keywords=keywords,
        settings=settings,
        embeddings=embeddings,
        generation=_generation(settings),
    )
    if not keywords.exists():
        if exists and store.count():
            log.warning(
                "Building the keyword index and articles catalogue of %s once (the index predates them) ...",
                settings.index_dir,
            )
        filled = keywords.create(store.passage_pages(["documents", "metadatas"]) if exists else ())
        if filled:
            log.warning("Indexed %d passages for keyword search and the catalogue.", filled)
    return store


def _dimension(embeddings: Embeddings) -> int:
    dim = getattr(embeddings, "dimension", None)
    return int(dim) if dim else len(embeddings.embed_query("dimension probe"))


def _clear_records(records: SQLRecordManager) -> None:
    while keys := records.list_keys(limit=10_000):
        records.delete_keys(keys)
    keywords = Keywords.open(records)
    if keywords.exists():
        keywords.clear()


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

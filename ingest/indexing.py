"""Indexing: load, chunk and embed articles into the store, incrementally.

Usage::

    report = ingest([Path("corpus")], settings)        # progress bar on stderr
    report.added, report.unchanged, report.deleted, report.skipped

Built on LangChain's indexing API: every chunk gets a content-hash id (sha256 of text and metadata),
the record manager remembers which hashes each article produced (written with the chunks, in one
short locked write per batch after the batch is embedded, on a background thread while the next batch
is encoded: ingestions on several machines sharing a PostgreSQL record database embed at once, see
:mod:`rag.store.records` and :mod:`rag.store.writer`), and after each group of whole
articles the chunks those articles no longer produce are deleted (what ``cleanup="incremental"`` does,
but once per group instead of once per embedding batch, see :func:`index_articles`). Duplicate
policy: a chunk whose hash is already recorded is skipped, never embedded twice; Chroma upserts by id,
so a re-run after a crash between the vector write and the record write cannot duplicate anything
either. An ingestion killed at any point leaves a state that the next run completes.

What the indexing API does not do is notice articles that are *gone*: ``incremental`` never looks at
sources it is not given, and ``full`` would delete the articles of every other folder. So after
indexing we delete them ourselves: with the manifest's plan (:func:`ingest.manifest.plan`), only the
new and changed files are read at all, and the articles of removed files, and those a changed file no
longer yields, are deleted by their source; without one (first run, other settings, a Chroma server)
every file is read and we sweep, per ingested folder, the sources that no longer exist there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.indexing import index
from sqlalchemy import text
from tqdm import tqdm

from ingest.chunking import chunk_article, sentence_documents
from ingest.loading import load_file
from ingest.manifest import ManifestWriter, Plan, Survey, forget, survey
from ingest.report import IngestReport
from rag.models.embedding import get_embeddings, load_tokenizer
from rag.settings import Settings
from rag.store import Store, delete_index, ingest_lock, mark_changed, open_store, reading

#: Chunks embedded and written per call: big enough to batch the model well, small enough to show
#: progress, and what bounds memory: a 50 MB article is embedded 64 chunks at a time, never at once
#: (Chroma also refuses more than ~5,000 records per write).
EMBED_BATCH = 64

#: Called after each file: (files done, files in all, current file name).
Progress = Callable[[int, int, str], None]


def token_counter(settings: Settings) -> Callable[[str], int]:
    """Counts tokens as the embedding model will see a passage (prefix and special tokens included)."""
    tokenizer = load_tokenizer(settings)
    prefix = settings.passage_prefix

    def count(passage: str) -> int:
        return len(tokenizer.encode(prefix + passage).ids)

    return count


def ingest(
    paths: Sequence[Path],
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    show_bar: bool = True,
    look: Survey | None = None,
) -> IngestReport:
    """Bring the index in line with the articles under ``paths`` (files or folders).

    ``look``: a :func:`ingest.manifest.survey` of the same paths taken just before (``newsqa ingest``
    takes one to answer an unchanged folder without importing Chroma); used if the manifest and the
    index are still as it saw them, so a big folder is not listed twice.

    Raises :class:`rag.store.StoreError` subclasses for index problems the user must act on
    (another ingestion running, index built with another model, index files damaged) and
    ``FileNotFoundError`` when none of the paths exists.
    """
    started = time.perf_counter()
    roots = [Path(os.path.abspath(p)) for p in paths]
    missing = [str(p) for p in roots if not p.exists()]
    if missing and len(missing) == len(roots):
        raise FileNotFoundError(f"No such file or folder: {', '.join(missing)}")

    with ingest_lock(settings), reading(settings):
        # Planned under the lock (or checked there to still hold): no other writer can change the
        # index between the plan and the writes.
        if rebuild or look is None or look.roots != roots or not look.still_valid(settings):
            look = survey(roots, settings, rebuild=rebuild)
        started = min(started, look.started)
        report = look.report()
        work = look.work
        manifest = ManifestWriter(settings, roots, work.unchanged)
        if work.recorded:
            if work.pending:
                manifest.begin(work.pending)
        else:
            # Dropped before anything is written: a run that dies half-way must not leave a manifest
            # that calls the index up to date (and without a plan it cannot name what it touched).
            forget(settings)
        if rebuild:
            delete_index(settings)
        if work.todo or work.removed or not work.recorded:
            _write(work, roots, settings, report, manifest, progress, show_bar)
        if rebuild or report.added or report.deleted:
            mark_changed(settings)
        manifest.save()

    report.seconds = time.perf_counter() - started
    return report


def _write(
    work: Plan,
    roots: Sequence[Path],
    settings: Settings,
    report: IngestReport,
    manifest: ManifestWriter,
    progress: Progress | None,
    show_bar: bool,
) -> None:
    """Load, chunk and index ``work.todo``, then delete what is gone (the part of :func:`ingest` that
    opens the store: a run with nothing to read or delete never loads Chroma or the tokenizer)."""
    # No store.preload() here: a process that ingests and later searches would hold a vector index
    # read before another process's ingestion (tests/rag/test_store.py); only readers preload.
    store = open_store(settings, get_embeddings(settings), create=True)
    count_tokens = token_counter(settings)
    produced: set[str] = set()
    clean_files: set[str] = set()
    files = work.todo

    def articles() -> Iterator[list[Document]]:
        bar = tqdm(total=len(files), unit="file", desc="Ingesting", disable=not show_bar, leave=False)
        with bar:
            for done, path in enumerate(files, start=1):
                stamp = manifest.stamp(path)
                loaded, bad = load_file(path)
                report.skipped.extend(bad)
                if not bad:
                    clean_files.add(os.path.abspath(path))
                file_chunks = file_sentences = 0
                for article in loaded:
                    report.articles += 1
                    produced.add(article.source)
                    chunks = chunk_article(article, count_tokens, settings)
                    sentences = sentence_documents(article, chunks) if settings.sentence_vectors else []
                    report.chunks += len(chunks)
                    report.sentences += len(sentences)
                    file_chunks += len(chunks)
                    file_sentences += len(sentences)
                    yield chunks + sentences
                if bad or stamp is None:
                    manifest.retry(path)  # reported again, and read again, on the next run
                else:
                    manifest.add(path, stamp, len(loaded), file_chunks, file_sentences)
                bar.update(1)
                if progress:
                    progress(done, len(files), path.name)

    # Each batch's write runs while the next is encoded; all are done (or their error raised) when
    # the block ends, before anything is deleted below, the manifest is saved or the lock released.
    with store.vectors.writing_behind():
        for batch in _whole_article_batches(articles(), EMBED_BATCH):
            added, unchanged, deleted = index_articles(store, batch)
            report.added += added
            report.unchanged += unchanged
            report.deleted += deleted
    if work.recorded:
        # Every article under the paths came from a recorded file: only the files read or removed
        # now can have lost articles.
        report.deleted += delete_gone(store, [*clean_files, *work.removed], produced)
    else:
        present = {os.path.abspath(p) for p in files}
        report.deleted += sweep_gone(store, roots, present, clean_files, produced)


def index_articles(store: Store, chunks: list[Document]) -> tuple[int, int, int]:
    """Write the chunks of whole articles, then drop those articles' chunks from earlier runs.

    Usage: ``added, unchanged, deleted = index_articles(store, chunks)``. The chunks are embedded
    :data:`EMBED_BATCH` at a time. LangChain's own incremental cleanup runs after every such batch and
    would delete the unchanged chunks of a long article that sit in a later batch (and so re-embed them
    on every run); cleaning up once, after the whole articles are written, deletes only what is really
    gone.
    """
    started = store.records.get_time()
    result = index(
        chunks,
        store.records,
        store.vectors,
        cleanup=None,
        source_id_key="source",
        key_encoder="sha256",
        batch_size=EMBED_BATCH,
    )
    sources = sorted({str(chunk.metadata["source"]) for chunk in chunks})
    deleted = 0
    # Every chunk confirmed above was stamped at `started` or later, and every chunk written is, even while
    # its write still waits behind (writing_behind: not recorded yet, never listed here); older ones are
    # gone. Deleting them waits for those writes first (IndexedChroma.delete).
    while stale := store.records.list_keys(group_ids=sources, before=started, limit=1000):
        store.vectors.delete(ids=stale)  # the vectors, their keyword and catalogue rows and their records
        deleted += len(stale)
    return result["num_added"] + result["num_updated"], result["num_skipped"], deleted


def _whole_article_batches(articles: Iterator[list[Document]], size: int) -> Iterator[list[Document]]:
    """Group articles' chunks into batches of at least ``size`` chunks, never splitting an article."""
    batch: list[Document] = []
    for chunks in articles:
        batch.extend(chunks)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _file_of(source: str) -> str:
    """The file behind a source id (``.jsonl`` articles are ``<file>#<line or id>``)."""
    head, sep, _ = source.rpartition("#")
    return head if sep and head.lower().endswith(".jsonl") else source


def _under(path: str, root: Path) -> bool:
    root_str = str(root)
    return path == root_str or path.startswith(root_str.rstrip(os.sep) + os.sep)


def recorded_sources(store: Store) -> list[str]:
    """Every source (article) that has chunks in the index, from the record manager."""
    with store.records.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT DISTINCT group_id FROM upsertion_record WHERE namespace = :ns AND group_id IS NOT NULL"),
            {"ns": store.records.namespace},
        )
        return sorted(row[0] for row in rows)


def delete_sources(store: Store, sources: Sequence[str]) -> int:
    """Remove every chunk of these sources from the collection and the record manager."""
    deleted = 0
    for source in sources:
        while keys := store.records.list_keys(group_ids=[source], limit=1000):
            store.vectors.delete(ids=keys)  # with their records
            deleted += len(keys)
    return deleted


def sources_of_files(store: Store, paths: Sequence[str]) -> set[str]:
    """The articles of these files in the catalogue or the record manager (``.jsonl`` ones as ``file#…``).

    Usage: ``sources_of_files(store, ["/corpus/a.txt"])  # {"/corpus/a.txt"}``
    """
    found = set(store.catalogue.sources_under(list(paths)))
    query = text(
        "SELECT DISTINCT group_id FROM upsertion_record WHERE namespace = :ns "
        "AND (group_id = :path OR (group_id > :low AND group_id < :high))"
    )
    with store.records.engine.connect() as conn:
        for path in paths:
            params = {"ns": store.records.namespace, "path": path, "low": path + "#", "high": path + "$"}
            found.update(row[0] for row in conn.execute(query, params))
    wanted = set(paths)
    return {source for source in found if _file_of(source) in wanted}


def delete_gone(store: Store, paths: Sequence[str], produced: set[str]) -> int:
    """Delete the articles of these files (read cleanly now, or removed) that this run did not produce.

    Usage: ``deleted = delete_gone(store, ["/corpus/old.txt"], produced=set())``
    """
    if not paths:
        return 0
    return delete_sources(store, sorted(sources_of_files(store, paths) - produced))


def sweep_gone(
    store: Store, roots: Sequence[Path], present: set[str], clean_files: set[str], produced: set[str]
) -> int:
    """Delete the chunks of articles under ``roots`` that are gone.

    Gone means: the file no longer exists (or is no longer an article file), or the file was read
    cleanly this time and no longer yields that article (a line removed from a ``.jsonl``). A file
    that could not be read this time keeps its earlier chunks.
    """
    gone = []
    # The catalogue's articles under these roots: never a pass over every record of the collection.
    for source in store.catalogue.sources_under([str(root) for root in roots]):
        path = _file_of(source)
        if not any(_under(path, root) for root in roots):
            continue
        if path not in present or (path in clean_files and source not in produced):
            gone.append(source)
    return delete_sources(store, gone)

"""Each batch's write runs on a background thread while the next batch is encoded (rag.store.writer).

Real Chroma, real SQLite record manager and keyword index, the real embedding model; only spies around
the write and the encoder to see when each runs, one of them slowed down or made to fail.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from ingest.indexing import ingest
from ingest.manifest import manifest_path
from rag.models.embedding import get_embeddings
from rag.settings import Settings
from rag.store import IndexedChroma, IndexUnreadableError, open_store
from rag.store.tables import SearchTables
from tests.ingest.test_interrupted import small_chunk_settings, write_news


@pytest.fixture
def news(tmp_path: Path) -> Path:
    """60 short articles: about 360 chunks and sentences at 32-token chunks, six batches of 64."""
    return write_news(tmp_path / "news")


def small(settings: Settings, name: str) -> Settings:
    return small_chunk_settings(settings.index_dir.parent / name, settings.model_dir)


def synchronous(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write done inside its add_texts call again, as before writes ran behind."""

    class Inline:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(IndexedChroma, "writing_behind", lambda self: Inline())


def state(settings: Settings) -> dict:
    """What the index holds, as a reader sees it: ids, records, keyword hits and the catalogue."""
    store = open_store(settings, get_embeddings(settings))
    ids = store.collection.get()["ids"]
    assert len(ids) == len(set(ids))
    assert sorted(store.records.list_keys()) == sorted(ids)
    queries = [["feuerwehr"], ["wien", "einsätze"], ["gemeinderat", "graz"], ["universität"]]
    return {
        "ids": sorted(ids),
        "keywords": [store.keywords.search(terms, k=20) for terms in queries],
        "catalogue": store.catalogue.articles(),
        "passages": store.keywords.passage_count(),
    }


def counts(report) -> tuple[int, ...]:
    return (report.articles, report.chunks, report.sentences, report.added, report.unchanged, report.deleted)


def test_ingestion_with_writes_behind_ends_exactly_as_with_writes_inline(settings, news, monkeypatch):
    behind, inline = small(settings, "behind"), small(settings, "inline")
    first = ingest([news], behind, show_bar=False)
    with monkeypatch.context() as patch:
        synchronous(patch)
        reference = ingest([news], inline, show_bar=False)
    assert counts(first) == counts(reference) and first.added > 5 * 64
    assert state(behind) == state(inline)

    # An article changed and one removed: the old chunks are deleted, after the writes behind them.
    (news / "artikel-003.txt").write_text("Die Feuerwehr in Wien zählte 17 Einsätze.\n", encoding="utf-8")
    (news / "artikel-007.txt").unlink()
    again = ingest([news], behind, show_bar=False)
    with monkeypatch.context() as patch:
        synchronous(patch)
        reference_again = ingest([news], inline, show_bar=False)
    assert counts(again) == counts(reference_again) and again.deleted > 0 and again.added > 0
    assert state(behind) == state(inline)


def test_the_next_batch_is_encoded_while_the_previous_one_is_written(settings, news, monkeypatch):
    small_settings = small(settings, "index")
    encoder = get_embeddings(small_settings)
    encodes: list[float] = []
    writes: list[tuple[float, float, str]] = []
    real_encode, real_write = encoder.embed_documents, IndexedChroma._write

    def spy_encode(texts: list[str]) -> list[list[float]]:
        encodes.append(time.monotonic())
        return real_encode(texts)

    def slow_write(self: IndexedChroma, *args: object) -> None:
        start = time.monotonic()
        time.sleep(0.5)  # a slow disk or a busy Chroma server
        real_write(self, *args)
        writes.append((start, time.monotonic(), threading.current_thread().name))

    monkeypatch.setattr(encoder, "embed_documents", spy_encode)
    monkeypatch.setattr(IndexedChroma, "_write", slow_write)
    report = ingest([news], small_settings, show_bar=False)

    assert len(writes) == len(encodes) >= 6
    assert {name for *_, name in writes} == {"newsqa-writer"}
    # Batch n + 1's encoding starts before batch n's write ends, for every batch but the last.
    overlapped = [encodes[n + 1] < end for n, (_, end, _) in enumerate(writes[:-1])]
    assert all(overlapped), overlapped
    # ... yet the writes run one at a time, in order, and all are done when ingest() returns.
    assert all(writes[n][1] <= writes[n + 1][0] for n in range(len(writes) - 1))
    store = open_store(small_settings, get_embeddings(small_settings))
    assert store.count() == report.added == len(store.records.list_keys())
    assert manifest_path(small_settings).exists()


def test_a_failed_write_stops_the_ingestion_with_a_clear_error_and_records_nothing_of_its_batch(
    settings, news, monkeypatch
):
    small_settings = small(settings, "index")
    batches: list[list[str]] = []
    real_add = SearchTables.add

    def failing_add(self: SearchTables, ids, texts, metadatas) -> None:
        batches.append(list(ids))
        if len(batches) == 2:  # after Chroma took the batch, before it is recorded
            raise sqlite3.OperationalError("disk I/O error")
        real_add(self, ids, texts, metadatas)

    with monkeypatch.context() as patch:
        patch.setattr(SearchTables, "add", failing_add)
        with pytest.raises(IndexUnreadableError, match=r"cannot be read or written \(disk I/O error\)"):
            ingest([news], small_settings, show_bar=False)

    store = open_store(small_settings, get_embeddings(small_settings))
    recorded = set(store.records.list_keys())
    assert recorded == set(batches[0])  # the first batch only: the failed one and those behind it not
    assert not any(store.records.exists(batches[1]))
    assert not manifest_path(small_settings).exists()

    # The next run completes the index: the same as an ingestion that never failed.
    again = ingest([news], small_settings, show_bar=False)
    assert again.unchanged == len(batches[0]) and again.deleted == 0
    clean = small(settings, "clean")
    ingest([news], clean, show_bar=False)
    assert state(small_settings) == state(clean)

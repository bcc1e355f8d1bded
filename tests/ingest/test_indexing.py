"""Incremental ingestion on a real Chroma with the real embedding model."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from ingest.indexing import ingest, recorded_sources
from rag.models.embedding import get_embeddings
from rag.settings import Settings
from rag.store import IndexBusyError, IndexMismatchError, IndexMissingError, ingest_lock, open_store
from tests.conftest import write_corpus

ARTICLES = {
    "wien.txt": "Neue U-Bahn in Wien\nDie Stadt Wien baut eine neue U-Bahn-Linie. Sie soll 2030 fertig sein.",
    "graz.txt": "Graz wählt\nIn Graz wurde am Sonntag ein neuer Gemeinderat gewählt. Die Wahlbeteiligung lag bei 48 Prozent.",
    "linz.txt": "Hochwasser in Linz\nDie Donau trat in Linz über die Ufer. Rund 300 Häuser wurden evakuiert.",
}


def chunk_sources(settings: Settings) -> list[str]:
    store = open_store(settings, get_embeddings(settings))
    got = store.collection.get(include=["metadatas"])
    assert len(got["ids"]) == len(set(got["ids"]))
    return sorted(m["source"] for m in got["metadatas"])


def test_reingesting_an_unchanged_corpus_embeds_nothing(settings, tmp_path):
    corpus = write_corpus(tmp_path / "news", ARTICLES)
    first = ingest([corpus], settings, show_bar=False)
    assert (first.articles, first.added, first.unchanged, first.deleted) == (3, first.records, 0, 0)
    assert first.exit_code == 0

    again = ingest([corpus], settings, show_bar=False)
    assert (again.added, again.unchanged, again.deleted) == (0, first.records, 0)
    assert len(chunk_sources(settings)) == first.records


def test_a_changed_article_replaces_its_old_chunks(settings, tmp_path):
    corpus = write_corpus(tmp_path / "news", ARTICLES)
    ingest([corpus], settings, show_bar=False)
    (corpus / "linz.txt").write_text(
        "Hochwasser in Linz\nDie Donau trat über die Ufer. Rund 500 Häuser wurden evakuiert."
    )

    report = ingest([corpus], settings, show_bar=False)
    assert report.added >= 1 and report.deleted >= 1
    store = open_store(settings, get_embeddings(settings))
    texts = store.collection.get(where={"name": "linz.txt"})["documents"]
    assert any("500 Häuser" in t for t in texts)
    assert not any("300 Häuser" in t for t in texts)


def test_a_deleted_article_disappears_but_other_folders_are_kept(settings, tmp_path):
    news = write_corpus(tmp_path / "news", ARTICLES)
    other = write_corpus(
        tmp_path / "other", {"salzburg.txt": "Festspiele\nDie Salzburger Festspiele beginnen im Juli."}
    )
    ingest([news], settings, show_bar=False)
    ingest([other], settings, show_bar=False)

    (news / "graz.txt").unlink()
    report = ingest([news], settings, show_bar=False)
    assert report.deleted >= 1
    names = {Path(s).name for s in chunk_sources(settings)}
    assert names == {"wien.txt", "linz.txt", "salzburg.txt"}
    assert {Path(s).name for s in recorded_sources(open_store(settings, get_embeddings(settings)))} == names


def test_an_unreadable_file_is_reported_and_keeps_its_earlier_chunks(settings, tmp_path):
    corpus = write_corpus(tmp_path / "news", ARTICLES)
    ingest([corpus], settings, show_bar=False)
    # Now wien.txt is garbage (a PNG), and a new good article arrives.
    (corpus / "wien.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (corpus / "bregenz.txt").write_text("Seebühne\nIn Bregenz beginnt die Saison auf der Seebühne.")

    report = ingest([corpus], settings, show_bar=False)
    assert [Path(s.path).name for s in report.skipped] == ["wien.txt"]
    assert "PNG" in report.skipped[0].reason
    assert report.exit_code == 3
    names = {Path(s).name for s in chunk_sources(settings)}
    assert names == {"wien.txt", "graz.txt", "linz.txt", "bregenz.txt"}


def test_a_second_writer_is_refused_with_a_clear_message(settings, tmp_path):
    corpus = write_corpus(tmp_path / "news", ARTICLES)
    with ingest_lock(settings), pytest.raises(IndexBusyError, match="Another ingestion"):
        ingest([corpus], settings, show_bar=False)
    assert ingest([corpus], settings, show_bar=False).added > 0  # the lock is released


class OtherModel(Embeddings):
    """Stands in for a different embedding model: only its identity matters to the store."""

    model_id = "some-other-model"
    dimension = 8

    def embed_documents(self, texts):
        return [[1.0] * 8 for _ in texts]

    def embed_query(self, text):
        return [1.0] * 8


def test_opening_an_index_with_another_embedding_model_stops_with_a_clear_message(settings, tmp_path):
    with pytest.raises(IndexMissingError, match="newsqa ingest"):
        open_store(settings, get_embeddings(settings))
    ingest([write_corpus(tmp_path / "news", ARTICLES)], settings, show_bar=False)
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        open_store(settings, OtherModel())


def test_rebuild_starts_from_scratch(settings, tmp_path):
    corpus = write_corpus(tmp_path / "news", ARTICLES)
    first = ingest([corpus], settings, show_bar=False)
    rebuilt = ingest([corpus], settings, rebuild=True, show_bar=False)
    assert rebuilt.added == first.records and rebuilt.unchanged == 0
    assert len(chunk_sources(settings)) == first.records


def test_nonexistent_path_is_an_error(settings, tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file or folder"):
        ingest([tmp_path / "nope"], settings, show_bar=False)

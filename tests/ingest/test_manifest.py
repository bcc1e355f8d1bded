"""The ingestion manifest: an unchanged corpus is recognised without loading any model or Chroma;
after a change only the new and changed files are read, and the removed ones' chunks are deleted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ingest.indexing as indexing
from ingest.indexing import ingest
from ingest.loading import discover, load_file
from ingest.manifest import PENDING, ManifestWriter, fingerprint, plan, recorded_files, survey, unchanged_report
from rag.models.embedding import get_embeddings
from rag.retrieval.catalog import list_articles
from rag.retrieval.keyword import keyword_search
from rag.settings import INDEX_SETTINGS, Settings
from rag.store import mark_changed, open_store
from tests.conftest import OTHER_INDEX_VALUES, ROOT
from tests.ingest.test_interrupted import index_state

ARTICLES = {
    "wien.txt": "Neue U-Bahn in Wien\nDie Stadt Wien baut eine neue U-Bahn-Linie. Sie soll 2030 fertig sein.",
    "graz.txt": "Graz wählt\nIn Graz wurde am Sonntag gewählt. Die Wahlbeteiligung lag bei 48 Prozent.",
}


def corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_an_unchanged_corpus_is_recognised_with_the_counts_of_the_real_run(settings, tmp_path):
    news = corpus(tmp_path / "news")
    first = ingest([news], settings, show_bar=False)
    report = unchanged_report([news], settings)
    assert report is not None
    assert (report.files, report.articles, report.chunks) == (first.files, first.articles, first.chunks)
    assert (report.added, report.unchanged, report.deleted, report.skipped) == (0, first.records, 0, [])


def test_a_touched_file_with_the_same_bytes_is_still_unchanged(settings, tmp_path):
    news = corpus(tmp_path / "news")
    ingest([news], settings, show_bar=False)
    stat = (news / "wien.txt").stat()
    os.utime(news / "wien.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert unchanged_report([news], settings) is not None


def test_every_real_change_falls_through_to_a_real_ingestion(settings, tmp_path):
    news = corpus(tmp_path / "news")
    ingest([news], settings, show_bar=False)
    (news / "linz.txt").write_text("Linz\nDie Donau trat über die Ufer.", encoding="utf-8")
    assert unchanged_report([news], settings) is None  # a new file

    ingest([news], settings, show_bar=False)
    assert unchanged_report([news], settings) is not None
    (news / "graz.txt").write_text(ARTICLES["graz.txt"].replace("48", "52"), encoding="utf-8")
    assert unchanged_report([news], settings) is None  # edited (same size, new bytes)

    ingest([news], settings, show_bar=False)
    (news / "linz.txt").unlink()
    assert unchanged_report([news], settings) is None  # deleted

    ingest([news], settings, show_bar=False)
    assert unchanged_report([news / "wien.txt"], settings) is None  # other paths than recorded
    assert unchanged_report([news], settings.model_copy(update={"chunk_tokens": 50})) is None  # other settings


def test_another_write_to_the_index_or_a_lost_index_invalidates_it(settings, tmp_path):
    news = corpus(tmp_path / "news")
    ingest([news], settings, show_bar=False)
    mark_changed(settings)  # what any other ingestion that wrote something does
    assert unchanged_report([news], settings) is None

    ingest([news], settings, show_bar=False)
    assert unchanged_report([news], settings) is not None
    (settings.index_dir / "records.sqlite").unlink()
    assert unchanged_report([news], settings) is None


def test_a_skipped_file_is_recorded_as_pending_so_it_is_read_and_reported_again(settings, tmp_path, monkeypatch):
    news = corpus(tmp_path / "news")
    (news / "bild.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    report = ingest([news], settings, show_bar=False)
    assert report.skipped
    assert recorded_files(settings, [news])[str(news / "bild.txt")][0] == PENDING
    assert unchanged_report([news], settings) is None  # so the skipped file is reported again

    read = spy_on_loading(monkeypatch)
    again = ingest([news], settings, show_bar=False)
    assert read == [news / "bild.txt"]
    assert [s.path for s in again.skipped] == [str(news / "bild.txt")] and again.exit_code == 3
    assert (again.articles, again.added, again.unchanged) == (2, 0, report.records)


def spy_on_loading(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every file ingestion loads (the real loader still loads it)."""
    read: list[Path] = []

    def counting(path: Path):
        read.append(path)
        return load_file(path)

    monkeypatch.setattr(indexing, "load_file", counting)
    return read


def passages_found(settings: Settings, word: str) -> set[str]:
    store = open_store(settings, get_embeddings(settings))
    hits = keyword_search(store, word, 10)
    if not hits:
        return set()
    got = store.collection.get(ids=[key for key, _ in hits], include=["metadatas"])
    return {Path(m["source"]).name for m in got["metadatas"]}


def test_only_new_and_changed_files_are_read_and_removed_ones_are_deleted(settings, tmp_path, monkeypatch):
    news = corpus(tmp_path / "news")
    (news / "linz.txt").write_text("Hochwasser in Linz\nDie Donau trat über die Ufer.", encoding="utf-8")
    (news / "salzburg.txt").write_text("Festspiele\nDie Salzburger Festspiele beginnen im Juli.", encoding="utf-8")
    ingest([news], settings, show_bar=False)
    old_graz = set(open_store(settings, get_embeddings(settings)).records.list_keys(group_ids=[str(news / "graz.txt")]))

    stat = (news / "wien.txt").stat()  # touched: a new time, the same bytes
    os.utime(news / "wien.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    (news / "graz.txt").write_text(ARTICLES["graz.txt"].replace("48", "52"), encoding="utf-8")  # changed
    (news / "linz.txt").unlink()  # removed
    (news / "bregenz.txt").write_text("Seebühne\nIn Bregenz beginnt die Saison auf der Seebühne.", encoding="utf-8")
    read = spy_on_loading(monkeypatch)
    report = ingest([news], settings, show_bar=False)

    assert sorted(p.name for p in read) == ["bregenz.txt", "graz.txt"]
    clean = settings.model_copy(update={"index_dir": tmp_path / "clean"})
    reference = ingest([news], clean, show_bar=False)  # a fresh index of the folder as it is now
    # The same chunks as a clean ingestion, no duplicates, and the record manager, keyword index and
    # catalogue agreeing with the collection (index_state checks each).
    assert index_state(settings) == index_state(clean)
    assert (report.files, report.articles, report.records) == (4, 4, reference.records)
    store = open_store(settings, get_embeddings(settings))
    new_graz = set(store.records.list_keys(group_ids=[str(news / "graz.txt")]))
    assert new_graz and old_graz - new_graz  # graz.txt's changed passage has new chunks
    assert not set(store.collection.get(ids=sorted(old_graz - new_graz))["ids"])  # old chunks gone
    assert report.deleted >= len(old_graz - new_graz) + 1  # + linz's
    assert report.unchanged + report.added == reference.records
    assert passages_found(settings, "Donau") == set()  # linz.txt is gone from keyword search
    assert passages_found(settings, "Seebühne") == {"bregenz.txt"}
    assert {a.name for a in list_articles(store)} == {"wien.txt", "graz.txt", "salzburg.txt", "bregenz.txt"}
    assert unchanged_report([news], settings) is not None  # and the manifest is complete again


def test_a_touched_file_is_not_reingested_and_is_recorded_with_its_new_time(settings, tmp_path, monkeypatch):
    news = corpus(tmp_path / "news")
    first = ingest([news], settings, show_bar=False)
    path = news / "wien.txt"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    (news / "linz.txt").write_text("Linz\nDie Donau trat über die Ufer.", encoding="utf-8")
    read = spy_on_loading(monkeypatch)
    report = ingest([news], settings, show_bar=False)
    assert read == [news / "linz.txt"]  # wien.txt's sha256 is as recorded: not loaded
    assert report.unchanged >= first.records and report.deleted == 0
    assert recorded_files(settings, [news])[str(path)][1] == path.stat().st_mtime_ns


def test_a_changed_jsonl_file_loses_the_articles_of_its_removed_lines(settings, tmp_path):
    news = tmp_path / "news"
    news.mkdir()
    feed = news / "feed.jsonl"
    lines = [
        {"id": "a", "title": "Wien", "text": "Die Stadt Wien baut eine neue U-Bahn-Linie."},
        {"id": "b", "title": "Linz", "text": "Die Donau trat in Linz über die Ufer."},
    ]
    feed.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    ingest([news], settings, show_bar=False)
    assert passages_found(settings, "Donau") == {"feed.jsonl#id=b"}
    feed.write_text(json.dumps(lines[0]), encoding="utf-8")
    report = ingest([news], settings, show_bar=False)
    assert report.articles == 1 and report.deleted >= 1
    assert passages_found(settings, "Donau") == set()
    assert passages_found(settings, "U-Bahn-Linie") == {"feed.jsonl#id=a"}


def test_an_ingestion_killed_after_planning_leaves_its_files_pending(settings, tmp_path):
    news = corpus(tmp_path / "news")
    ingest([news], settings, show_bar=False)
    (news / "graz.txt").unlink()
    (news / "linz.txt").write_text("Linz\nDie Donau trat über die Ufer.", encoding="utf-8")
    # What the manifest says from the moment a planned run starts writing (the real kill test with a
    # subprocess is tests/ingest/test_interrupted.py).
    files, _ = discover([news])
    work = plan(files, recorded_files(settings, [news]))
    assert [p.name for p in work.todo] == ["linz.txt"] and work.removed == [str(news / "graz.txt")]
    ManifestWriter(settings, [news], work.unchanged).begin(work.pending)
    recorded = recorded_files(settings, [news])
    assert {Path(k).name: v[0] == PENDING for k, v in recorded.items()} == {
        "wien.txt": False,
        "graz.txt": True,
        "linz.txt": True,
    }
    report = ingest([news], settings, show_bar=False)  # the run after the kill
    assert report.deleted >= 1 and report.added >= 1
    assert passages_found(settings, "Wahlbeteiligung") == set()
    assert passages_found(settings, "Donau") == {"linz.txt"}


def test_a_chroma_server_or_shared_record_database_never_uses_the_manifest(settings, tmp_path):
    news = corpus(tmp_path / "news")
    ingest([news], settings, show_bar=False)
    assert recorded_files(settings, [news]) is not None
    assert recorded_files(settings.model_copy(update={"chroma_host": "localhost"}), [news]) is None
    assert recorded_files(settings.model_copy(update={"record_db_url": "sqlite:///x.db"}), [news]) is None


def test_the_cli_answers_an_unchanged_corpus_without_loading_torch_or_chroma(settings, tmp_path):
    news = corpus(tmp_path / "news")
    env = {**os.environ, "NEWSQA_INDEX_DIR": str(settings.index_dir), "NEWSQA_MODEL_DIR": str(settings.model_dir)}
    probe = (
        "import sys; from ui.cli import main; code = main(['ingest', '--quiet', sys.argv[1]]); "
        "heavy = sorted(m for m in ('torch', 'chromadb', 'sentence_transformers', 'onnxruntime', 'langchain_chroma') "
        "if m in sys.modules); print('heavy:', heavy); sys.exit(code)"
    )
    first = subprocess.run([sys.executable, "-c", probe, str(news)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([sys.executable, "-c", probe, str(news)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "heavy: []" in again.stdout
    assert "0 added" in again.stderr and "unchanged" in again.stderr


@pytest.mark.parametrize("name", INDEX_SETTINGS)
def test_every_setting_that_changes_a_vector_or_chunk_changes_the_fingerprint(name, settings):
    other = settings.model_copy(update={name: OTHER_INDEX_VALUES[name]})
    assert fingerprint(other) != fingerprint(settings)
    assert fingerprint(settings.model_copy(update={"top_k": 9})) == fingerprint(settings)  # answering only


def test_a_survey_taken_before_another_ingestion_wrote_is_taken_again(settings, tmp_path):
    news = corpus(tmp_path / "news")
    ingest([news], settings, show_bar=False)
    (news / "linz.txt").write_text("Linz\nDie Donau trat über die Ufer.", encoding="utf-8")
    stale = survey([news], settings)
    assert [p.name for p in stale.work.todo] == ["linz.txt"]
    ingest([news], settings, show_bar=False)  # another ingestion, after the survey
    (news / "linz.txt").unlink()
    report = ingest([news], settings, show_bar=False, look=stale)
    assert not report.skipped and report.deleted >= 1  # linz.txt is gone, not "missing"
    assert passages_found(settings, "Donau") == set()

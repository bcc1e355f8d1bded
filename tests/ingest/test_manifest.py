"""The ingestion manifest: an unchanged corpus is recognised without loading any model or Chroma;
every real change falls through to the record manager."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.indexing import ingest
from ingest.manifest import fingerprint, manifest_path, unchanged_report
from rag.settings import INDEX_SETTINGS
from rag.store import mark_changed
from tests.conftest import OTHER_INDEX_VALUES, ROOT

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


def test_a_run_with_skipped_files_writes_no_manifest(settings, tmp_path):
    news = corpus(tmp_path / "news")
    (news / "bild.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    report = ingest([news], settings, show_bar=False)
    assert report.skipped and not manifest_path(settings).exists()
    assert unchanged_report([news], settings) is None  # so the skipped file is reported again


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

"""A damaged index on disk: newsqa says so in one sentence with the fix, and the fix works.

The damage is done to copies of a real ingested index: the files Chroma and the record manager
keep (``chroma/chroma.sqlite3``, the HNSW segment files, ``records.sqlite``) overwritten with
garbage, truncated, removed or replaced. Every way in (open, search, ``newsqa ask``, ``newsqa
ingest``, the chat) must raise or print a :class:`StoreError` naming ``newsqa ingest --rebuild``,
never a Chroma stack trace, and ``newsqa ingest --rebuild`` must work although the index cannot be
opened.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.indexing import ingest
from rag.models.embedding import get_embeddings
from rag.settings import Settings
from rag.store import IndexUnreadableError, StoreError, forget_clients, open_client, open_store
from rag.store.metadata import collection_metadata
from tests.conftest import CORPUS, ROOT
from tests.rag.answer.test_answering import make_answerer
from ui.handlers import respond

ADVICE = "newsqa ingest --rebuild"


def copy_index(source: Settings, tmp_path: Path) -> Settings:
    target = tmp_path / "index"
    shutil.copytree(source.index_dir, target, ignore=shutil.ignore_patterns("ingest.lock"))
    return Settings(index_dir=target, model_dir=source.model_dir, corpus_dir=CORPUS)


def segment_dir(settings: Settings) -> Path:
    return next(p for p in (settings.index_dir / "chroma").iterdir() if p.is_dir())


def garbage(path: Path, size: int | None = None) -> None:
    path.write_bytes(random.Random(path.name).randbytes(size or max(path.stat().st_size, 4096)))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def chroma_folder_is_a_file(settings: Settings) -> None:
    shutil.rmtree(settings.index_dir / "chroma")
    (settings.index_dir / "chroma").write_text("not a folder")


DAMAGE: dict[str, Callable[[Settings], None]] = {
    "chroma.sqlite3 garbage": lambda s: garbage(s.index_dir / "chroma" / "chroma.sqlite3"),
    "chroma.sqlite3 truncated": lambda s: truncate(s.index_dir / "chroma" / "chroma.sqlite3"),
    "records.sqlite garbage": lambda s: garbage(s.index_dir / "records.sqlite"),
    "chroma folder is a file": chroma_folder_is_a_file,
}


def assert_clear(error: BaseException, settings: Settings) -> None:
    assert isinstance(error, StoreError), f"{type(error).__module__}.{type(error).__name__}: {error}"
    assert ADVICE in str(error) and str(settings.index_dir) in str(error)


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_index_is_reported_with_the_fix_and_rebuild_works(damage, corpus_settings, tmp_path):
    settings = copy_index(corpus_settings, tmp_path)
    DAMAGE[damage](settings)
    with pytest.raises(StoreError) as raised:
        open_store(settings, get_embeddings(settings))
    assert_clear(raised.value, settings)
    with pytest.raises(StoreError) as raised:  # plain `newsqa ingest` stops with the same advice
        ingest([CORPUS], settings, show_bar=False)
    assert_clear(raised.value, settings)

    report = ingest([CORPUS], settings, rebuild=True, show_bar=False)
    assert report.added == report.records > 0 and not report.skipped
    store = open_store(settings, get_embeddings(settings))
    assert store.count() == report.records == len(store.records.list_keys())


def big_persisted_index(settings: Settings) -> None:
    """An index with 1,500 vectors, enough that Chroma writes its HNSW files (it keeps fewer in its log)."""
    client = open_client(settings)
    embeddings = get_embeddings(settings)
    collection = client.create_collection(
        settings.collection,
        metadata=collection_metadata(settings, embeddings),
        configuration={"hnsw": {"space": "cosine"}},
    )
    rng = random.Random(1)
    for batch in range(3):
        ids = [f"{batch}-{i}" for i in range(500)]
        collection.add(
            ids=ids,
            embeddings=[[rng.uniform(-1, 1) for _ in range(embeddings.dimension)] for _ in ids],
            documents=[f"Meldung {i}: Nordkorea schickte {i} Soldaten." for i in ids],
            metadatas=[{"source": "/news/a.txt", "name": "a.txt", "title": "A", "start": 0, "end": 9}] * 500,
        )
    assert any(p.name == "data_level0.bin" and p.stat().st_size for p in (settings.index_dir / "chroma").rglob("*"))
    open_store(settings, embeddings)  # fills the keyword index once, as ingestion would have written it
    forget_clients()  # as a new process would: nothing of this index left in memory


def test_damaged_vector_files_are_reported_by_the_answer_and_the_chat(settings):
    """Measured: HNSW segment files full of garbage open fine; the first search fails."""
    big_persisted_index(settings)
    for file in segment_dir(settings).iterdir():
        garbage(file)
    answerer, llm = make_answerer(settings, "should not be reached [1]")
    with pytest.raises(IndexUnreadableError) as raised:
        answerer.ask("Wie viele Soldaten schickte Nordkorea?")
    assert_clear(raised.value, settings)
    assert llm.prompts == []
    [(shown, rows)] = list(respond(answerer, "Wie viele Soldaten schickte Nordkorea?"))
    assert ADVICE in shown and rows == []


def test_records_left_without_their_collection_do_not_hide_the_articles(corpus_settings, tmp_path):
    """The chroma folder removed (by hand, or by a crash of a rebuild) but records.sqlite kept.

    Before the fix the record manager still listed every chunk, so ingestion skipped them all as
    "unchanged" and left a new, empty collection behind.
    """
    settings = copy_index(corpus_settings, tmp_path)
    shutil.rmtree(settings.index_dir / "chroma")
    report = ingest([CORPUS], settings, show_bar=False)
    store = open_store(settings, get_embeddings(settings))
    assert report.added == report.records == store.count() > 0
    assert set(store.records.list_keys()) == set(store.collection.get()["ids"])


def newsqa(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "NEWSQA_INDEX_DIR": str(settings.index_dir),
        "NEWSQA_MODEL_DIR": str(settings.model_dir),
        "NEWSQA_CORPUS_DIR": str(CORPUS),
    }
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_newsqa_says_the_index_is_damaged_and_ingest_rebuild_repairs_it(corpus_settings, tmp_path):
    settings = copy_index(corpus_settings, tmp_path)
    garbage(settings.index_dir / "chroma" / "chroma.sqlite3")
    for args in (("ask", "how many soldiers?"), ("ingest", "--quiet")):
        result = newsqa(settings, *args)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        [line] = result.stderr.strip().splitlines()
        assert line.startswith(f"newsqa: The index in {settings.index_dir} cannot be read") and ADVICE in line

    rebuilt = newsqa(settings, "ingest", "--rebuild", "--quiet")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Ingested 1 article(s)" in rebuilt.stderr
    store = open_store(settings, get_embeddings(settings))
    assert store.count() > 0 and not list((settings.index_dir).glob("chroma.broken-*"))

"""Shared fixtures: real models from the shared model cache, a fresh index per test.

The model cache is the product's own (``NEWSQA_MODEL_DIR`` or the per-user default), so the models
the install step built are reused instead of rebuilt per test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.settings import Settings
from tests.postgres import Cluster

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
#: XQuAD (../shared/data/xquad, see ../shared/data/README.md): 48 German articles and 632 questions.
XQUAD = SHARED / "data" / "xquad"


#: A value other than the default for each setting that changes what a stored vector or chunk is
#: (rag.settings.INDEX_SETTINGS): tests switch one of them on an existing index.
OTHER_INDEX_VALUES: dict[str, object] = {
    "embedding_model": "intfloat/multilingual-e5-base",
    "embedding_backend": "torch",
    "pooling": "off",
    "sentence_vectors": False,
    "chunk_tokens": 50,
    "chunk_overlap_sentences": 0,
    "query_prefix": "frage: ",
    "passage_prefix": "absatz: ",
}


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return Settings().model_dir


@pytest.fixture
def settings(tmp_path: Path, model_dir: Path) -> Settings:
    """Settings with a fresh, empty index of its own."""
    return Settings(index_dir=tmp_path / "index", model_dir=model_dir, corpus_dir=CORPUS)


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Settings:
    """Settings whose index holds the shipped corpus (ingested once per test session)."""
    from ingest.indexing import ingest

    settings = Settings(index_dir=tmp_path_factory.mktemp("corpus-index"), model_dir=model_dir, corpus_dir=CORPUS)
    report = ingest([CORPUS], settings, show_bar=False)
    assert report.added > 0 and not report.skipped
    return settings


@pytest.fixture(scope="session")
def xquad() -> Path:
    """The XQuAD folder (``corpus/``, ``dev.jsonl``); a test that needs it fails, never skips, without it."""
    needed = [XQUAD / "corpus", XQUAD / "dev.jsonl"]
    missing = [str(path) for path in needed if not path.exists()]
    if missing:
        pytest.fail(f"test data missing: {', '.join(missing)} (clone the shared data beside the repo as ../shared)")
    return XQUAD


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster on a free loopback port (tests/postgres.py), for the whole session."""
    cluster = Cluster.start()
    if cluster is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed: run scripts/install.sh")
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres: Cluster) -> str:
    """The URL of a new, empty database of the session's cluster: a record database of the test's own."""
    return postgres.new_database()


@pytest.fixture(params=["sqlite", "postgres"])
def backend_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """``settings`` with the record database on SQLite (the index folder's file) and then on PostgreSQL."""
    if request.param == "sqlite":
        return settings
    return settings.model_copy(update={"record_db_url": request.getfixturevalue("postgres_url")})


@pytest.fixture(scope="session", autouse=True)
def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"


def write_corpus(folder: Path, articles: dict[str, str]) -> Path:
    """``folder`` with one UTF-8 file per ``{name: text}`` (made if missing): a small corpus to ingest."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def newsqa(*args: str, settings: Settings, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """The ``newsqa`` command run as a user runs it, in a process of its own, on ``settings``' folders."""
    env = {
        **os.environ,
        "NEWSQA_INDEX_DIR": str(settings.index_dir),
        "NEWSQA_MODEL_DIR": str(settings.model_dir),
        "NEWSQA_CORPUS_DIR": str(settings.corpus_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )

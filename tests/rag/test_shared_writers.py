"""Ingestions on several machines at once: one Chroma server, one PostgreSQL record database, each
ingestion with a local index folder of its own (as on its own machine), all real processes.

They embed at the same time and take turns only for each batch's short write (rag.store.records):
every chunk ends up exactly once in Chroma, recorded, in the keyword index and in the catalogue, also
after one of them is killed mid-way and started again; a third process then finds everything.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from ingest.chunking import chunk_article
from ingest.indexing import index_articles, token_counter
from ingest.loading import load_file
from rag.models.embedding import get_embeddings
from rag.settings import Settings
from rag.store import Store, open_store
from rag.store.database import WriteLock
from tests.conftest import ROOT, write_corpus
from tests.rag.test_servers import ChromaServer, server_settings

SYLLABLES = ["ka", "lo", "mi", "ru", "te", "zu", "bra", "fen", "gor", "hul"]


def name(number: int) -> str:
    """A made-up surname, different for every number below 1000: a word only its article holds."""
    a, b, c = number // 100, number // 10 % 10, number % 10
    return (SYLLABLES[a] + SYLLABLES[b] + SYLLABLES[c]).capitalize()


def articles(first: int, count: int) -> dict[str, str]:
    """``count`` short articles (one passage and three sentences each), each about another person."""
    return {
        f"preis-{i:03d}.txt": f"Preis für {name(i)}\nDie Forscherin {name(i)} erhielt den Preis Nummer {i}. "
        f"Sie arbeitet seit {1990 + i % 30} in Graz. Die Feier fand im Rathaus statt."
        for i in range(first, first + count)
    }


ASKER = textwrap.dedent(
    """
    import json, sys
    from rag.settings import Settings
    from rag.models.embedding import get_embeddings
    from rag.retrieval.catalog import count_articles
    from rag.retrieval.keyword import keyword_search
    from rag.retrieval.retrieving import Retriever
    from rag.store import open_store
    settings = Settings()
    store = open_store(settings, get_embeddings(settings))
    retriever = Retriever(store, 1)
    top = {}
    for person in sys.argv[1:]:
        hits = keyword_search(store, f"Welchen Preis erhielt die Forscherin {person}?", 1)
        got = store.collection.get(ids=[hits[0][0]], include=["metadatas"])["metadatas"] if hits else []
        top[person] = [retriever.run(f"Welchen Preis erhielt {person}?")[0].name, [m["name"] for m in got]]
    print(json.dumps({"articles": count_articles(store), "records": store.count(), "top": top}))
    """
)


def env_of(settings: Settings) -> dict[str, str]:
    """A machine's environment: the shared servers, its own index folder."""
    return {
        **os.environ,
        "NEWSQA_CHROMA_HOST": "127.0.0.1",
        "NEWSQA_CHROMA_PORT": str(settings.chroma_port),
        "NEWSQA_RECORD_DB_URL": str(settings.record_db_url),
        "NEWSQA_INDEX_DIR": str(settings.index_dir),
        "NEWSQA_MODEL_DIR": str(settings.model_dir),
    }


def start_ingest(settings: Settings, *folders: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "ui.cli", "ingest", *map(str, folders), "--quiet"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env_of(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finished(process: subprocess.Popen[str]) -> None:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]


def assert_consistent(store: Store, sources: set[str]) -> None:
    """Each chunk once in Chroma and recorded; each passage in the keyword index; each article catalogued."""
    got = store.collection.get(include=["documents", "metadatas"])
    ids, docs, metas = got["ids"], got["documents"], got["metadatas"]
    assert sorted(ids) == sorted(store.records.list_keys())
    copies = Counter((m["source"], m.get("kind"), d) for d, m in zip(docs, metas))
    assert [key for key, n in copies.items() if n > 1] == []
    passages = Counter(m["source"] for m in metas if m.get("kind") != "sentence")
    assert set(passages) == sources
    assert store.keywords.passage_count() == sum(passages.values())
    rows = store.catalogue.articles()
    assert {row[0]: row[-1] for row in rows} == dict(passages)


@pytest.fixture
def machines(tmp_path: Path, postgres_url: str, model_dir: Path):
    """A Chroma server and a PostgreSQL database, and the settings of three machines using both."""
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    yield [
        server_settings(server, tmp_path / f"machine-{n}", model_dir=model_dir, record_db_url=postgres_url)
        for n in (1, 2, 3)
    ]
    server.stop()


def test_two_machines_ingest_overlapping_folders_at_once_and_one_resumes_after_being_killed(machines, tmp_path):
    one, two, three = machines
    news = tmp_path / "news"
    part1, part2 = write_corpus(news / "part1", articles(0, 20)), write_corpus(news / "part2", articles(20, 20))
    shared = write_corpus(news / "shared", articles(40, 20))
    first, second = start_ingest(one, part1, shared), start_ingest(two, part2, shared)
    finished(first)
    finished(second)
    store = open_store(three, get_embeddings(three))
    assert_consistent(store, {str(path) for path in news.rglob("*.txt")})

    # Killed while writing a folder of its own, then started again: it goes on where it was.
    part3 = write_corpus(news / "part3", articles(60, 60))
    before = store.catalogue.count()
    killed = start_ingest(one, part3, shared)
    deadline = time.time() + 300
    while store.catalogue.count() == before and killed.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    written = store.catalogue.count() - before
    assert killed.returncode == -signal.SIGKILL and 0 < written < 60, "the ingestion was not killed mid-way"
    again, other = start_ingest(one, part3, shared), start_ingest(two, part2, shared)
    finished(again)
    finished(other)
    assert_consistent(store, {str(path) for path in news.rglob("*.txt")})

    asker = subprocess.run(
        [sys.executable, "-c", ASKER, name(5), name(33), name(47), name(119)],
        cwd=ROOT,
        env=env_of(three),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert asker.returncode == 0, asker.stderr[-3000:]
    seen = json.loads(asker.stdout)
    assert seen["articles"] == 120 and seen["records"] == store.count()
    expected = {name(i): [f"preis-{i:03d}.txt"] * 2 for i in (5, 33, 47, 119)}
    assert {person: [top, *found] for person, (top, found) in seen["top"].items()} == expected


class CountingEmbeddings(Embeddings):
    """The real embedding model, counting the passages it embedded (the test watches when)."""

    def __init__(self, model: Embeddings) -> None:
        self.model, self.embedded = model, 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self.model.embed_documents(texts)
        self.embedded += len(texts)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed_query(text)


def test_a_batch_is_embedded_while_another_machine_writes_and_written_after_it(machines, tmp_path):
    settings = machines[0]
    embeddings = CountingEmbeddings(get_embeddings(settings))
    store = open_store(settings, embeddings, create=True)
    folder = write_corpus(tmp_path / "news", articles(0, 3))
    count = token_counter(settings)
    chunks = [
        c for path in sorted(folder.iterdir()) for a in load_file(path)[0] for c in chunk_article(a, count, settings)
    ]
    result: list[tuple[int, int, int]] = []
    worker = threading.Thread(target=lambda: result.append(index_articles(store, chunks)))
    # Another machine's write in progress: the same lock, taken on a session of its own.
    with WriteLock(store.records.engine, store.records.namespace):
        worker.start()
        deadline = time.time() + 120
        while not waiting_for_lock(store) and time.time() < deadline:
            time.sleep(0.05)
        assert waiting_for_lock(store), "the ingestion never waited for the write lock"
        assert embeddings.embedded == len(chunks)  # embedded while the other machine held the lock
        assert store.count() == 0 and store.records.list_keys() == []  # but nothing written
    worker.join(timeout=120)
    assert result == [(len(chunks), 0, 0)]
    assert store.count() == len(chunks) and sorted(store.records.list_keys()) == sorted(store.collection.get()["ids"])


def waiting_for_lock(store: Store) -> bool:
    """Whether a session of this database waits for an advisory lock."""
    rows = store.keywords.db.read("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    return rows[0][0] > 0

"""The store shared by processes: a reader (chat, ask) and a writer (ingest) on one index."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import replace

from ingest.indexing import ingest, recorded_sources
from rag.models.embedding import get_embeddings
from rag.retrieval.retrieving import Retriever
from rag.store import open_store
from tests.conftest import CORPUS, ROOT

READER = textwrap.dedent(
    """
    import json, sys, time, pathlib
    from rag.settings import Settings
    from rag.models.embedding import get_embeddings
    from rag.store import open_store
    from rag.retrieval.retrieving import Retriever
    settings = Settings()
    store = open_store(settings, get_embeddings(settings))
    retriever = Retriever(store, 4)
    stop = pathlib.Path(sys.argv[1])
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            hits = retriever.run("Wie viele Besucher kamen zum Stadtfest?")
            print(json.dumps({"count": store.count(), "top": hits[0].name}), flush=True)
        except Exception as exc:
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        if stop.exists():
            break
        time.sleep(0.05)
    """
)


def env_for(settings) -> dict[str, str]:
    return {**os.environ, "NEWSQA_INDEX_DIR": str(settings.index_dir), "NEWSQA_MODEL_DIR": str(settings.model_dir)}


def test_a_reader_keeps_answering_while_another_process_ingests(settings, tmp_path):
    ingest([CORPUS], settings, show_bar=False)
    news = tmp_path / "news"
    news.mkdir()
    for i in range(24):
        (news / f"fest-{i:02d}.txt").write_text(
            f"Stadtfest Nummer {i}\nZum Stadtfest in Ort {i} kamen {1000 + i} Besucher. "
            "Es gab Musik, Essen und ein Feuerwerk am Abend.",
            encoding="utf-8",
        )
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(stop)], cwd=ROOT, env=env_for(settings), stdout=subprocess.PIPE, text=True
    )
    try:
        time.sleep(8)  # let the reader start answering before the writer begins
        writer = subprocess.run(
            [sys.executable, "-m", "ui.cli", "ingest", str(news), "--quiet"],
            cwd=ROOT,
            env=env_for(settings),
            capture_output=True,
            text=True,
            timeout=600,
        )
        time.sleep(2)
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=120)
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    errors = [line["error"] for line in lines if "error" in line]
    assert writer.returncode == 0, writer.stderr
    assert lines and errors == []
    # The running reader sees the new articles without a restart.
    assert lines[-1]["count"] > lines[0]["count"] and lines[-1]["top"].startswith("fest-"), (lines[0], lines[-1])

    # A fresh process sees exactly what the record manager recorded, without duplicates.
    store = open_store(settings, get_embeddings(settings))
    ids = store.collection.get()["ids"]
    assert len(ids) == len(set(ids))
    records = store.records.list_keys()
    assert sorted(ids) == sorted(records)
    assert len(recorded_sources(store)) == 25
    assert Retriever(store, 1).run("Wie viele Besucher kamen zum Stadtfest in Ort 7?")[0].name.startswith("fest-")


def test_preloading_the_vector_index_runs_beside_the_first_search_and_tolerates_an_empty_index(settings, caplog):
    caplog.set_level(logging.DEBUG, logger="rag.store")
    empty = open_store(settings, get_embeddings(settings), create=True)
    thread = empty.preload()
    thread.join(timeout=60)
    assert not thread.is_alive() and empty.count() == 0

    ingest([CORPUS], settings, show_bar=False)
    store = open_store(settings, get_embeddings(settings))
    thread = store.preload()
    # the first search does not wait for the preload to finish, and both succeed
    hits = Retriever(store, 4).run("Wie viele nordkoreanische Soldaten sind in Russland?")
    thread.join(timeout=60)
    assert not thread.is_alive() and hits[0].name == "nordkorea-soldaten-russland.txt"
    assert "preloading the vector index failed" not in caplog.text

    served = replace(store, settings=settings.model_copy(update={"chroma_host": "localhost"}))
    assert served.preload() is None  # a server holds its own graph

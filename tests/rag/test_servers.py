"""Scaling out for real: a Chroma server and an OpenAI-compatible LLM server, both on loopback.

The servers are the ones the packages ship (`chroma run`, `python -m llama_cpp.server`), started
by the tests on free ports; nothing in newsqa knows it is being tested.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from ingest.indexing import ingest
from rag.answer.answering import build_answerer
from rag.models.embedding import get_embeddings
from rag.retrieval.catalog import list_articles
from rag.retrieval.keyword import keyword_search
from rag.retrieval.retrieving import Retriever
from rag.settings import Settings
from rag.store import ChromaServerError, RecordDatabaseError, open_store
from tests.conftest import CORPUS, ROOT, write_corpus

ARTICLE = "nordkorea-soldaten-russland.txt"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up in {seconds} s")


class ChromaServer:
    """`chroma run` on 127.0.0.1, restartable on the same port and data folder."""

    def __init__(self, path: Path) -> None:
        self.path, self.port, self.process = path, free_port(), None

    def start(self) -> None:
        chroma = Path(sys.executable).with_name("chroma")
        log = self.path.with_suffix(".log")
        # Output goes to a file: a full pipe would block the server.
        with log.open("a") as out:
            self.process = subprocess.Popen(
                [str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", self.process, log)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def chroma_server(tmp_path):
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    yield server
    server.stop()


def server_settings(server: ChromaServer, local: Path, **extra) -> Settings:
    return Settings(chroma_host="127.0.0.1", chroma_port=server.port, index_dir=local, corpus_dir=CORPUS, **extra)


def test_ingest_and_retrieve_through_a_chroma_server(chroma_server, tmp_path, model_dir):
    settings = server_settings(chroma_server, tmp_path / "local", model_dir=model_dir)
    first = ingest([CORPUS], settings, show_bar=False)
    assert first.added == first.records > 0
    assert not (tmp_path / "local" / "chroma").exists()  # nothing went into an embedded store
    store = open_store(settings, get_embeddings(settings))
    assert store.count() == first.records
    passages = Retriever(store, 4).run("How many North Korean soldiers are in Russia?")
    assert passages[0].name == ARTICLE and any("12.000" in p.text for p in passages)
    assert ingest([CORPUS], settings, show_bar=False).added == 0


def test_changed_added_and_removed_files_through_a_chroma_server(chroma_server, tmp_path, model_dir):
    """With a server the manifest's plan is not used: every file is read, and the result is still exact."""
    news = write_corpus(
        tmp_path / "news",
        {
            "wien.txt": "Neue U-Bahn in Wien\nDie Stadt Wien baut eine neue U-Bahn-Linie.",
            "graz.txt": "Graz wählt\nIn Graz lag die Wahlbeteiligung bei 48 Prozent.",
            "linz.txt": "Hochwasser in Linz\nDie Donau trat in Linz über die Ufer.",
        },
    )
    settings = server_settings(chroma_server, tmp_path / "local", model_dir=model_dir)
    ingest([news], settings, show_bar=False)
    assert not (tmp_path / "local" / "manifest.json").exists()
    (news / "graz.txt").write_text("Graz wählt\nIn Graz lag die Wahlbeteiligung bei 52 Prozent.", encoding="utf-8")
    (news / "linz.txt").unlink()
    (news / "bregenz.txt").write_text("Seebühne\nIn Bregenz beginnt die Saison.", encoding="utf-8")
    report = ingest([news], settings, show_bar=False)
    assert report.files == 3 and report.deleted >= 2
    store = open_store(settings, get_embeddings(settings))
    got = store.collection.get(include=["documents", "metadatas"])
    assert len(got["ids"]) == len(set(got["ids"])) == report.records
    assert {Path(m["source"]).name for m in got["metadatas"]} == {"wien.txt", "graz.txt", "bregenz.txt"}
    assert not any("48 Prozent" in text for text in got["documents"])
    assert not keyword_search(store, "Donau", 5)


@pytest.fixture(params=["sqlite", "postgres"])
def shared_records(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The record database every machine names: one SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared-records.sqlite'}"
    return request.getfixturevalue("postgres_url")


def test_two_machines_sharing_the_record_database_do_not_embed_twice(
    chroma_server, shared_records, tmp_path, model_dir
):
    one = server_settings(chroma_server, tmp_path / "machine-1", model_dir=model_dir, record_db_url=shared_records)
    two = server_settings(chroma_server, tmp_path / "machine-2", model_dir=model_dir, record_db_url=shared_records)
    assert ingest([CORPUS], one, show_bar=False).added > 0
    second = ingest([CORPUS], two, show_bar=False)
    assert second.added == 0 and second.unchanged == second.records
    assert open_store(two, get_embeddings(two)).count() == second.records


def test_the_keyword_index_lives_in_the_shared_record_database(chroma_server, shared_records, tmp_path, model_dir):
    """With a Chroma server, every machine that names the same record database sees one keyword index."""
    writer = server_settings(chroma_server, tmp_path / "machine-1", model_dir=model_dir, record_db_url=shared_records)
    reader = server_settings(chroma_server, tmp_path / "machine-2", model_dir=model_dir, record_db_url=shared_records)
    ingest([CORPUS], writer, show_bar=False)
    store = open_store(reader, get_embeddings(reader))  # machine 2 never ingested anything
    hits = keyword_search(store, "Verteidigungsabkommen", 4, language="de")
    got = store.collection.get(ids=[key for key, _ in hits], include=["metadatas"])
    assert hits and {m["name"] for m in got["metadatas"]} == {ARTICLE}
    assert [a.name for a in list_articles(store)] == [ARTICLE]
    assert [p.name for p in tmp_path.glob("machine-*/*.sqlite")] == []  # nothing kept per machine


FIRST_QUESTION = textwrap.dedent(
    """
    import json
    from rag.models.embedding import get_embeddings
    from rag.retrieval.keyword import keyword_search
    from rag.retrieval.retrieving import Retriever
    from rag.settings import Settings
    from rag.store import open_store
    settings = Settings()
    store = open_store(settings, get_embeddings(settings))
    passages = Retriever(store, 4).run("Wie viele nordkoreanische Soldaten sind in Russland?")
    words = store.keywords.query_terms("Wie viele nordkoreanische Soldaten sind in Russland?")
    print(json.dumps({"top": passages[0].name, "keywords": len(keyword_search(store, "Soldaten in Russland", 4)),
                      "words": words}))
    """
)


def test_a_new_process_s_first_retrieval_reads_the_postgresql_record_database(
    chroma_server, postgres_url, tmp_path, model_dir
):
    ingest(
        [CORPUS],
        server_settings(chroma_server, tmp_path / "machine-1", model_dir=model_dir, record_db_url=postgres_url),
    )
    env = {
        **os.environ,
        "NEWSQA_CHROMA_HOST": "127.0.0.1",
        "NEWSQA_CHROMA_PORT": str(chroma_server.port),
        "NEWSQA_RECORD_DB_URL": postgres_url.replace("postgresql+psycopg://", "postgresql://"),  # as users write it
        "NEWSQA_INDEX_DIR": str(tmp_path / "machine-2"),
        "NEWSQA_MODEL_DIR": str(model_dir),
    }
    run = subprocess.run(
        [sys.executable, "-c", FIRST_QUESTION], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout)
    # German stemming by PostgreSQL's german configuration: "Soldaten" is "soldat", "viele" a stop word.
    assert (
        seen["top"] == ARTICLE and seen["keywords"] > 0 and "soldat" in seen["words"] and "viele" not in seen["words"]
    )


def test_a_record_database_that_is_down_is_reported_in_the_user_s_words(tmp_path, model_dir):
    url = f"postgresql+psycopg://newsqa:secret@127.0.0.1:{free_port()}/news"
    settings = Settings(index_dir=tmp_path / "local", model_dir=model_dir, record_db_url=url)
    expected = "Cannot use the PostgreSQL record database postgresql+psycopg://newsqa:***@127.0.0.1"
    with pytest.raises(RecordDatabaseError, match=expected.replace("+", r"\+").replace("*", r"\*")):
        open_store(settings, get_embeddings(settings), create=True)
    env = {**os.environ, "NEWSQA_RECORD_DB_URL": url, "NEWSQA_INDEX_DIR": str(tmp_path / "local")}
    cli = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ingest", str(CORPUS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 1 and "Traceback" not in cli.stderr and "secret" not in cli.stderr, cli.stderr[-2000:]
    assert cli.stderr.strip().startswith(f"newsqa: {expected}") and "NEWSQA_RECORD_DB_URL" in cli.stderr


def test_a_server_outage_is_reported_clearly_and_newsqa_recovers(chroma_server, tmp_path, model_dir):
    settings = server_settings(chroma_server, tmp_path / "local", model_dir=model_dir)
    chunks = ingest([CORPUS], settings, show_bar=False).records
    retriever = Retriever(open_store(settings, get_embeddings(settings)), 4)
    assert retriever.run("Kursk")

    chroma_server.stop()
    with pytest.raises(
        ChromaServerError, match=f"Cannot reach the Chroma server at http://127.0.0.1:{chroma_server.port}"
    ):
        retriever.run("Kursk")
    env = {
        **os.environ,
        "NEWSQA_CHROMA_HOST": "127.0.0.1",
        "NEWSQA_CHROMA_PORT": str(chroma_server.port),
        "NEWSQA_INDEX_DIR": str(tmp_path / "local"),
        "NEWSQA_MODEL_DIR": str(model_dir),
    }
    cli = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ask", "Kursk?"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 1 and "Traceback" not in cli.stderr
    assert cli.stderr.strip().startswith("newsqa: Cannot reach the Chroma server")

    chroma_server.start()  # same port, same data
    assert retriever.run("Kursk")[0].name == ARTICLE
    assert retriever.store.count() == chunks


@pytest.fixture(scope="module")
def llm_server(model_dir, tmp_path_factory):
    from rag.models.gguf import ensure_gguf

    gguf = ensure_gguf(Settings(model_dir=model_dir))
    port = free_port()
    log = tmp_path_factory.mktemp("llm-server") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(gguf),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "4096",
                "--n_threads",
                "2",
                "--model_alias",
                "qwen-test",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/models", process, log)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.kill()
        process.wait(timeout=30)


@pytest.mark.llm
def test_the_soldiers_question_through_both_servers(chroma_server, llm_server, tmp_path, model_dir):
    local = tmp_path / "local"
    env = {
        **os.environ,
        "NEWSQA_CHROMA_HOST": "127.0.0.1",
        "NEWSQA_CHROMA_PORT": str(chroma_server.port),
        "NEWSQA_INDEX_DIR": str(local),
        "NEWSQA_MODEL_DIR": str(model_dir),
        "NEWSQA_CORPUS_DIR": str(CORPUS),
        "NEWSQA_LLM_BASE_URL": llm_server,
        "NEWSQA_LLM_MODEL": "qwen-test",
    }
    ingest_run = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ingest", "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ingest_run.returncode == 0, ingest_run.stderr
    # Ask in a process that reports whether it ever mapped a GGUF file: with a server configured
    # the local model must never be loaded.
    probe = (
        "import sys; from ui.cli import main; rc = main(['ask', 'how many soldiers?', '--json']); "
        "print('GGUF-MAPPED' if '.gguf' in open('/proc/self/maps').read() else 'NO-GGUF', file=sys.stderr); "
        "sys.exit(rc)"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "NO-GGUF" in run.stderr
    answer = json.loads(run.stdout)
    assert not answer["refused"] and "12,000" in answer["answer"], answer
    assert answer["citations"] and answer["citations"][0]["source"] == ARTICLE


@pytest.mark.llm
def test_answers_stream_from_the_llm_server_and_an_outage_is_reported(corpus_settings, llm_server):
    from rag.answer.results import Token
    from rag.models.llm import LLMServerError

    settings = corpus_settings.model_copy(update={"llm_base_url": llm_server, "llm_model": "qwen-test"})
    events = list(build_answerer(settings).stream("Wie viele Soldaten hat Nordkorea nach Russland geschickt?"))
    assert sum(isinstance(e, Token) for e in events) > 1
    assert "12.000" in events[-1].answer

    down = corpus_settings.model_copy(update={"llm_base_url": f"http://127.0.0.1:{free_port()}/v1"})
    with pytest.raises(LLMServerError, match="did not answer"):
        build_answerer(down).ask("How many North Korean soldiers are in Russia?")

"""The Gradio chat over HTTP (gradio_client), on a real store; the LLM is a scripted stand-in.

The real LLM behind the chat is exercised end to end in tests/rag/test_answering_e2e.py and
tests/ui/test_cli.py; here the subject is the web app: streaming, the passages panel, errors.
"""

from __future__ import annotations

import socket

import pytest
from gradio_client import Client

from ingest.indexing import ingest
from tests.rag.test_answering import make_answerer
from ui.chat import PASSAGE_COLUMNS, build_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve():
    apps = []

    def start(settings, reply: str):
        answerer, llm = make_answerer(settings, reply)
        demo = build_app(settings, answerer)
        demo.queue(default_concurrency_limit=1)
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        apps.append(demo)
        return Client(f"http://127.0.0.1:{port}/", verbose=False), llm

    yield start
    for demo in apps:
        demo.close()


def test_chat_streams_the_answer_and_shows_the_cited_passage(corpus_settings, serve):
    client, _ = serve(corpus_settings, "10.000 to 12.000 North Korean soldiers [1]")
    job = client.submit("How many North Korean soldiers are in Russia?", api_name="/chat")
    answer, rows = job.result(timeout=120)
    assert answer == "10,000 to 12,000 North Korean soldiers [1]"
    assert len(job.outputs()) > 2  # streamed: several partial answers before the final one
    rows = rows["data"] if isinstance(rows, dict) else rows
    assert [row[0] for row in rows] == ["1"]
    assert rows[0][2] == "nordkorea-soldaten-russland.txt"
    assert "12.000" in rows[0][3]


def test_unsupported_numbers_are_flagged_in_the_chat(corpus_settings, serve):
    client, _ = serve(corpus_settings, "10.000 to 99.000 soldiers [1]")
    answer, _ = client.predict("How many North Korean soldiers are in Russia?", api_name="/chat")
    assert "⚠️" in answer and "99,000" in answer.split("⚠️")[1]


def test_empty_question_gets_a_message_and_no_llm_call(corpus_settings, serve):
    client, llm = serve(corpus_settings, "should not be used [1]")
    answer, rows = client.predict("   ", api_name="/chat")
    assert answer == "Please type a question."
    assert llm.prompts == []


def test_passages_are_shown_as_plain_text(settings, serve, tmp_path):
    hostile = tmp_path / "news"
    hostile.mkdir()
    (hostile / "markup.txt").write_text(
        "Stadtrat beschließt Budget\nDer Stadtrat beschloss ein Budget von 5.000 Euro <script>alert('x')</script> "
        "<img src=x onerror=alert(1)> [Link](javascript:alert(2)).",
        encoding="utf-8",
    )
    ingest([hostile], settings, show_bar=False)
    client, _ = serve(settings, "5.000 Euro [1]")
    answer, rows = client.predict("Wie hoch ist das Budget des Stadtrats?", api_name="/chat")
    rows = rows["data"] if isinstance(rows, dict) else rows
    assert "<script>alert('x')</script>" in rows[0][3]  # delivered verbatim, as text
    config = client.config
    frames = [c for c in config["components"] if c.get("type") == "dataframe"]
    assert frames and frames[0]["props"]["datatype"] == ["str"] * len(PASSAGE_COLUMNS)


@pytest.mark.llm
def test_newsqa_chat_on_an_empty_index_ingests_the_corpus_and_answers(settings):
    """The README's main command, as a user runs it: `newsqa chat`, then a question in the browser."""
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    port = free_port()
    env = {
        **os.environ,
        "NEWSQA_INDEX_DIR": str(settings.index_dir),
        "NEWSQA_MODEL_DIR": str(settings.model_dir),
        "NEWSQA_CORPUS_DIR": str(settings.corpus_dir),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "chat", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        client = None
        deadline = time.time() + 300
        while client is None and time.time() < deadline and server.poll() is None:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            except Exception:
                time.sleep(2)
        assert client is not None, "the chat did not come up"
        answer, rows = client.predict("how many soldiers?", api_name="/chat")
        rows = rows["data"] if isinstance(rows, dict) else rows
        assert "12,000" in answer and "[" in answer
        assert rows and rows[0][2] == "nordkorea-soldaten-russland.txt"
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0]
    assert "No index yet: ingesting" in output and "Ingested 1 article(s)" in output

"""Serving the chat: `newsqa chat` on an empty index ingests the corpus first, reported as the CLI reports.

What the served chat exposes (loopback, login, no files of ours) is tests/ui/test_exposure.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from gradio_client import Client

from tests.conftest import ROOT, write_corpus
from tests.ui.markup import answer_text, cited_passage, visible_text
from tests.ui.serving import free_port
from ui.server import ensure_index


@pytest.mark.llm
def test_newsqa_chat_on_an_empty_index_ingests_the_corpus_and_answers(settings):
    """The README's main command, as a user runs it: `newsqa chat`, then a question in the browser."""
    port = free_port()
    env = {
        **os.environ,
        "NEWSQA_INDEX_DIR": str(settings.index_dir),
        "NEWSQA_MODEL_DIR": str(settings.model_dir),
        "NEWSQA_CORPUS_DIR": str(settings.corpus_dir),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "chat", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
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
        answer, panel = client.predict("how many soldiers?", api_name="/chat")
        assert "12,000" in answer_text(answer) and "[" in answer_text(answer)
        _, _, passage = cited_passage(answer, panel)
        assert "nordkorea-soldaten-russland.txt" in visible_text(passage)
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0]
    assert "No index yet: ingesting" in output and "Ingested 1 article(s)" in output


def test_the_chat_on_an_empty_index_reports_the_ingestion_as_the_cli_does(settings, tmp_path, capsys):
    corpus = write_corpus(tmp_path / "corpus", {"brücke.md": "# Neue Brücke in Linz\n\nDie Brücke ist 300 Meter lang."})
    (corpus / "bild.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))  # a photo beside the articles
    ensure_index(settings.model_copy(update={"corpus_dir": corpus}))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"No index yet: ingesting {corpus} first …"
    # after the progress bar, the report `newsqa ingest` prints: the file of another type is named
    assert lines[-2] == f"not read {corpus / 'bild.png'}: PNG image (.png), not an article type"
    assert lines[-1].startswith("Ingested 1 article(s) from 1 file(s)")
    assert lines[-1].endswith("no files skipped; 1 file(s) of other types not read (.png).")

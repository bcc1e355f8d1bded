"""The newsqa command as a user runs it: exit codes, one-line errors, the JSON answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import CORPUS, ROOT


def newsqa(*args: str, settings, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "NEWSQA_INDEX_DIR": str(settings.index_dir),
        "NEWSQA_MODEL_DIR": str(settings.model_dir),
        "NEWSQA_CORPUS_DIR": str(settings.corpus_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_ask_before_any_ingestion_fails_with_one_clear_line(settings):
    result = newsqa("ask", "how many soldiers?", settings=settings)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"newsqa: No index yet in {settings.index_dir}: run `newsqa ingest` first (it ingests {CORPUS}/ by default)."
    ]


def test_ingest_of_an_unknown_path_fails_clearly(settings, tmp_path):
    result = newsqa("ingest", str(tmp_path / "missing"), settings=settings)
    assert result.returncode == 1
    assert "No such file or folder" in result.stderr and "Traceback" not in result.stderr


def test_bad_usage_exits_2(settings):
    assert newsqa("ingest", "--no-such-flag", settings=settings).returncode == 2
    assert newsqa("frobnicate", settings=settings).returncode == 2


def test_ingest_reports_skipped_files_and_exits_3(settings, tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "good.txt").write_text("Titel\nEin guter Artikel über Wien.", encoding="utf-8")
    (folder / "empty.txt").write_text("   \n", encoding="utf-8")
    result = newsqa("ingest", str(folder), "--quiet", settings=settings)
    assert result.returncode == 3, result.stderr
    assert f"skipped {folder / 'empty.txt'}: " in result.stderr
    assert "Ingested 1 article(s) from 2 file(s)" in result.stderr
    again = newsqa("ingest", str(folder / "good.txt"), "--quiet", settings=settings)
    assert again.returncode == 0 and "0 added, 1 unchanged" in again.stderr


def test_empty_question_exits_2_without_calling_anything(corpus_settings):
    result = newsqa("ask", "  ", settings=corpus_settings)
    assert result.returncode == 2
    assert result.stderr.strip() == "newsqa: Please type a question."


@pytest.mark.llm
def test_ask_json_answers_how_many_soldiers_with_a_citation(corpus_settings):
    result = newsqa("ask", "how many soldiers?", "--json", settings=corpus_settings)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert {"question", "answer", "refused", "citations", "unsupported_numbers", "timings_ms"} <= answer.keys()
    assert answer["refused"] is False
    assert "12,000" in answer["answer"].replace(".", ",").replace(" ", "")
    citation = answer["citations"][0]
    assert {"n", "source", "title", "text", "start", "end"} <= citation.keys()
    assert citation["source"] == "nordkorea-soldaten-russland.txt"
    assert citation["path"] == str(CORPUS / "nordkorea-soldaten-russland.txt")
    article = (CORPUS / "nordkorea-soldaten-russland.txt").read_text(encoding="utf-8")
    assert article[citation["start"] : citation["end"]] == citation["text"]
    assert {"retrieve", "first_token", "generate", "total"} <= answer["timings_ms"].keys()

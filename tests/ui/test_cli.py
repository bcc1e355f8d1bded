"""The newsqa command as a user runs it: exit codes, one-line errors, the JSON answer."""

from __future__ import annotations

import json

import pytest

from rag.settings import OFFLINE_ENVIRONMENT
from tests.conftest import CORPUS, newsqa, write_corpus
from tests.rag.test_settings import run_watched


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
    # One passage and the record of its one sentence (the one-word title is no sentence record).
    assert again.returncode == 0 and "1 chunks (+1 sentences), 0 added, 2 unchanged" in again.stderr


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


# --- newsqa eval / eval-split: the errors a user makes, before any model is loaded ------------------


def qa_row(n: int, doc_file: str) -> str:
    return json.dumps(
        {
            "id": f"q{n}",
            "question_en": f"Question {n}?",
            "question_de": f"Frage {n}?",
            "answers_en": ["Wien"],
            "answers_de": ["Wien"],
            "context_de": "Ein Artikel über Wien.",
            "doc_file": doc_file,
        }
    )


@pytest.fixture
def eval_corpus(tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    for name in ("wien.txt", "graz.txt"):
        (folder / name).write_text(f"Titel\n\nEin Artikel über {name[:-4].title()}.", encoding="utf-8")
    return folder


def test_eval_with_a_question_file_that_is_not_json_exits_2_naming_file_and_line(settings, tmp_path, eval_corpus):
    qa = tmp_path / "fragen.jsonl"
    qa.write_text(qa_row(1, "wien.txt") + "\n\nthis is not JSON\n", encoding="utf-8")
    result = newsqa("eval", "--qa", str(qa), "--corpus", str(eval_corpus), "--retrieval-only", settings=settings)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsqa: error: fragen.jsonl line 3: not JSON"), result.stderr
    assert result.stdout == ""


def test_eval_with_a_missing_question_file_exits_2_naming_it(settings, tmp_path, eval_corpus):
    result = newsqa("eval", "--qa", str(tmp_path / "nowhere.jsonl"), "--corpus", str(eval_corpus), settings=settings)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and str(tmp_path / "nowhere.jsonl") in result.stderr


def test_eval_with_a_missing_corpus_folder_exits_1_naming_it(settings, tmp_path):
    qa = tmp_path / "fragen.jsonl"
    qa.write_text(qa_row(1, "wien.txt") + "\n", encoding="utf-8")
    result = newsqa("eval", "--qa", str(qa), "--corpus", str(tmp_path / "missing"), settings=settings)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [f"newsqa: No such corpus folder: {tmp_path / 'missing'}"]


def test_eval_with_questions_about_articles_not_in_the_corpus_exits_1_naming_them(settings, tmp_path, eval_corpus):
    qa = tmp_path / "fragen.jsonl"
    qa.write_text(qa_row(1, "wien.txt") + "\n" + qa_row(2, "linz.txt") + "\n", encoding="utf-8")
    result = newsqa("eval", "--qa", str(qa), "--corpus", str(eval_corpus), "--retrieval-only", settings=settings)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "linz.txt" in lines[0] and "wien.txt" not in lines[0], result.stderr


@pytest.mark.parametrize("options", [["--limit", "0"], ["--retrieval-only", "--context", "gold"]])
def test_eval_with_contradicting_or_impossible_options_exits_2(settings, tmp_path, eval_corpus, options):
    qa = tmp_path / "fragen.jsonl"
    qa.write_text(qa_row(1, "wien.txt") + "\n", encoding="utf-8")
    result = newsqa("eval", "--qa", str(qa), "--corpus", str(eval_corpus), *options, settings=settings)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("newsqa: error: ")


def test_eval_split_writes_the_corpus_and_both_question_files(settings, tmp_path, eval_corpus):
    qa = tmp_path / "fragen.jsonl"
    qa.write_text(qa_row(1, "wien.txt") + "\n" + qa_row(2, "graz.txt") + "\n", encoding="utf-8")
    out = tmp_path / "split"
    result = newsqa("eval-split", "--qa", str(qa), "--corpus", str(eval_corpus), "--out", str(out), settings=settings)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{out / 'corpus'}: the corpus without 1 article(s)",
        f"{out / 'answerable.jsonl'}: questions it can answer",
        f"{out / 'unanswerable.jsonl'}: questions it cannot answer",
        f"{out / 'calibration'}, {out / 'test'}: the same for two halves of the articles (`newsqa calibrate`)",
    ]
    kept = [p.name for p in (out / "corpus").iterdir()]
    unanswerable = [json.loads(line)["doc_file"] for line in (out / "unanswerable.jsonl").read_text().splitlines()]
    assert len(kept) == 1 and unanswerable == list({"wien.txt", "graz.txt"} - set(kept))


def test_eval_split_refuses_to_write_over_its_corpus(settings, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("wien.txt", "graz.txt"):
        (corpus / name).write_text("Titel\n\nText.", encoding="utf-8")
    qa = tmp_path / "fragen.jsonl"
    qa.write_text(qa_row(1, "wien.txt") + "\n" + qa_row(2, "graz.txt") + "\n", encoding="utf-8")
    result = newsqa("eval-split", "--qa", str(qa), "--corpus", str(corpus), "--out", str(tmp_path), settings=settings)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "apart from it" in result.stderr
    assert sorted(p.name for p in corpus.iterdir()) == ["graz.txt", "wien.txt"]


def test_newsqa_sets_the_offline_environment_before_a_model_library_loads(settings, tmp_path):
    """`newsqa ingest` in a clean environment: the embedding runtime starts with every variable set."""
    news = write_corpus(tmp_path / "news", {"linz.md": "# Neue Brücke in Linz\n\nDie Brücke ist 300 Meter lang."})
    loaded = run_watched(
        f"from ui.cli import main\nmain(['ingest', '--quiet', {str(news)!r}])\n",
        NEWSQA_INDEX_DIR=str(settings.index_dir),
        NEWSQA_MODEL_DIR=str(settings.model_dir),
    )
    assert loaded and all(seen == OFFLINE_ENVIRONMENT for seen in loaded.values()), loaded

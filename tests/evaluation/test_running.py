"""Running an evaluation for real: the embedding model, Chroma, and (marked llm) the local LLM.

The guard: ``newsqa eval`` on 100 English questions about the German XQuAD articles must keep finding
the gold paragraph in the top 4 — a change must not silently degrade cross-lingual retrieval.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evaluation.running import EvalOptions, EvalSetupError, evaluate, index_key
from rag.settings import INDEX_SETTINGS, Settings
from tests.conftest import OTHER_INDEX_VALUES, ROOT

pytestmark = pytest.mark.slow

RETRIEVAL_KEYS = {"hit@1", "hit@4", "hit@10", "mrr@10", "retrieve_ms_p50", "retrieve_ms_p95"}
ANSWER_KEYS = {
    "em",
    "f1",
    "f1_any",
    "numeric",
    "numeric_exact",
    "citation_accuracy",
    "false_refusal",
    "answer_ms_p50",
    "answer_ms_p95",
}


# --- the guard: the real command on XQuAD ---------------------------------------------------------


def newsqa_eval(*args: str, eval_dir: Path, model_dir: Path, index_dir: Path) -> tuple[dict, float]:
    """``newsqa eval ... --json --quiet`` in a subprocess: its JSON report and its wall time."""
    env = {
        **os.environ,
        "NEWSQA_EVAL_DIR": str(eval_dir),
        "NEWSQA_MODEL_DIR": str(model_dir),
        "NEWSQA_INDEX_DIR": str(index_dir),
    }
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "ui.cli", "eval", *args, "--json", "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), seconds


def test_english_questions_find_the_german_paragraph_and_the_index_is_reused(xquad, tmp_path, model_dir):
    args = (
        "--qa",
        str(xquad / "dev.jsonl"),
        "--corpus",
        str(xquad / "corpus"),
        "--retrieval-only",
        "--limit",
        "100",
        "--seed",
        "0",
    )
    where = {"eval_dir": tmp_path / "eval", "model_dir": model_dir, "index_dir": tmp_path / "index"}
    report, first_seconds = newsqa_eval(*args, **where)
    print(
        f"\nXQuAD guard: first run {first_seconds:.1f} s (index built): hit@1 {report.get('hit@1')}, "
        f"hit@4 {report.get('hit@4')}, mrr@10 {report.get('mrr@10')}, p50 {report.get('retrieve_ms_p50')} ms"
    )

    assert {"hit@1", "hit@4", "mrr@10", "retrieve_ms_p50"} <= report.keys()
    assert report["questions"] == 100 and report["lang"] == "en"
    assert report["hit@4"] >= 0.98, report  # THE GUARD
    assert report["hit@1"] <= report["hit@4"] <= report["hit@10"] <= 1.0
    assert report["hit@1"] <= report["mrr@10"] <= report["hit@10"]
    assert not ANSWER_KEYS & report.keys()  # --retrieval-only: no answers, no answer figures
    assert report["settings"]["top_k"] >= 1

    # One cached index, built in the eval folder: never in the user's index.
    indexes = list((tmp_path / "eval").iterdir())
    assert len(indexes) == 1 and not (tmp_path / "index").exists()
    # rag.store.mark_changed stamps the index generation whenever an ingestion adds or deletes chunks.
    generation = (indexes[0] / "generation").read_text(encoding="utf-8")

    again, second_seconds = newsqa_eval(*args, **where)
    assert list((tmp_path / "eval").iterdir()) == indexes
    assert (indexes[0] / "generation").read_text(encoding="utf-8") == generation  # nothing re-embedded
    same = ("questions", "hit@1", "hit@4", "hit@10", "mrr@10")
    assert {k: again[k] for k in same} == {k: report[k] for k in same}  # same sample, same index
    print(f"second run {second_seconds:.1f} s (index reused)")


# --- a tiny corpus written here -------------------------------------------------------------------

ARTICLES = {
    "baeckerei-graz.txt": (
        "Grazer Bäckerei feiert Jubiläum",
        "Die Bäckerei Hofer in der Grazer Annenstraße feiert ihr 125-jähriges Bestehen. Heute arbeiten "
        "dort 38 Menschen, die jeden Tag rund 4.500 Semmeln backen.",
        "Zum Jubiläum brachte der Bürgermeister eine Torte vorbei, die in der Backstube gebacken wurde.",
    ),
    "seilbahn-zillertal.txt": (
        "Neue Seilbahn im Zillertal eröffnet",
        "Im Zillertal in Tirol ist am Samstag eine neue Gondelbahn auf den Penken eröffnet worden. Die "
        "Kabinen bringen Skifahrer in acht Minuten auf den Gipfel.",
        "Betrieben wird die neue Seilbahn von den Mayrhofner Bergbahnen.",
    ),
    "hochwasser-donau.txt": (
        "Hochwasser an der Donau",
        "Nach tagelangem Regen ist die Donau in Niederösterreich über die Ufer getreten. Die Feuerwehr "
        "baute in der Wachau mobile Schutzwände aus Aluminium auf.",
        "Die Bahnstrecke zwischen Melk und Krems bleibt wegen des Hochwassers bis Montag gesperrt.",
    ),
}

# Each question's answer is in one paragraph of one article only; the first is a number.
QUESTIONS = [
    (
        "bakery",
        "How many bread rolls does the Hofer bakery in Graz bake every day?",
        "Wie viele Semmeln backt die Bäckerei Hofer in Graz jeden Tag?",
        ["4,500"],
        ["4.500"],
        "baeckerei-graz.txt",
        1,
    ),
    (
        "cablecar",
        "Which company operates the new cable car in the Zillertal?",
        "Wer betreibt die neue Seilbahn im Zillertal?",
        ["Mayrhofner Bergbahnen"],
        ["Mayrhofner Bergbahnen"],
        "seilbahn-zillertal.txt",
        2,
    ),
    (
        "railway",
        "Which railway line stays closed because of the Danube flood?",
        "Welche Bahnstrecke bleibt wegen des Donauhochwassers gesperrt?",
        ["between Melk and Krems"],
        ["zwischen Melk und Krems"],
        "hochwasser-donau.txt",
        2,
    ),
    (
        "walls",
        "What did the fire brigade build in the Wachau against the Danube flood?",
        "Was baute die Feuerwehr in der Wachau gegen das Hochwasser auf?",
        ["mobile flood walls"],
        ["mobile Schutzwände"],
        "hochwasser-donau.txt",
        1,
    ),
]

UNANSWERABLE = [
    (
        "cup",
        "Who won the football World Cup final in 2014?",
        "Wer gewann 2014 das WM-Finale?",
        ["Germany"],
        ["Deutschland"],
        "fussball-wm-2014.txt",
    ),
    (
        "moon",
        "When did the first human land on the Moon?",
        "Wann landete der erste Mensch auf dem Mond?",
        ["1969"],
        ["1969"],
        "mondlandung.txt",
    ),
]


def qa_line(qid: str, en: str, de: str, answers_en: list[str], answers_de: list[str], doc: str, context: str) -> str:
    return json.dumps(
        {
            "id": qid,
            "question_en": en,
            "question_de": de,
            "answers_en": answers_en,
            "answers_de": answers_de,
            "context_de": context,
            "doc_file": doc,
        },
        ensure_ascii=False,
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, model_dir) -> tuple[Path, Path, Path, Settings]:
    """The three articles, their questions, unanswerable ones, and settings with a cached eval index."""
    root = tmp_path_factory.mktemp("tiny-eval")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, (title, *paragraphs) in ARTICLES.items():
        (corpus / name).write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    lines = []
    for qid, en, de, answers_en, answers_de, doc, paragraph in QUESTIONS:
        context = ARTICLES[doc][paragraph]
        assert answers_de[0] in context and all(
            answers_de[0] not in ARTICLES[d][p] for d in ARTICLES for p in (1, 2) if (d, p) != (doc, paragraph)
        )
        lines.append(qa_line(qid, en, de, answers_en, answers_de, doc, context))
    qa = root / "qa.jsonl"
    qa.write_text("\n".join(lines) + "\n", encoding="utf-8")
    unanswerable = root / "unanswerable.jsonl"
    unanswerable.write_text("".join(qa_line(*q, context="") + "\n" for q in UNANSWERABLE), encoding="utf-8")
    settings = Settings(index_dir=root / "index", eval_dir=root / "eval", model_dir=model_dir, corpus_dir=corpus)
    return corpus, qa, unanswerable, settings


@pytest.mark.parametrize("lang", ["en", "de"])
def test_obvious_questions_rank_their_article_first(tiny, tmp_path, lang):
    corpus, qa, _, settings = tiny
    details = tmp_path / "details.jsonl"
    report = evaluate(
        EvalOptions(qa=qa, corpus=corpus, lang=lang, retrieval_only=True, details=details), settings, show_bar=False
    )
    metrics = report.metrics
    assert metrics["questions"] == len(QUESTIONS) and metrics["lang"] == lang
    assert metrics.keys() >= RETRIEVAL_KEYS and not ANSWER_KEYS & metrics.keys()
    assert (metrics["hit@1"], metrics["hit@4"], metrics["mrr@10"]) == (1.0, 1.0, 1.0), metrics
    assert metrics["retrieve_ms_p50"] > 0
    assert "gate_refusal" not in metrics  # no unanswerable questions asked
    records = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["first_hit"]) for r in records] == [(q[0], 1) for q in QUESTIONS]
    assert all(r["question"] == (q[1] if lang == "en" else q[2]) for r, q in zip(records, QUESTIONS))
    # Only the eval cache holds an index; the settings' own index is never written.
    assert len(list(settings.eval_dir.iterdir())) == 1 and not settings.index_dir.exists()


def test_the_evaluation_index_keeps_its_keyword_index_in_the_postgresql_database_named(tiny, postgres_url):
    corpus, qa, _, settings = tiny
    options = EvalOptions(qa=qa, corpus=corpus, lang="de", retrieval_only=True, record_db_url=postgres_url)
    report = evaluate(options, settings, show_bar=False)
    assert (report.metrics["hit@1"], report.metrics["hit@4"]) == (1.0, 1.0), report.metrics
    import psycopg

    with psycopg.connect(postgres_url.replace("+psycopg", "")) as conn:
        tables = [name for (name,) in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'kw%'")]
        assert {name.rsplit("_", 1)[-1] for name in tables} == {"articles", "passages", "terms", "stats"}
        catalogue = next(name for name in tables if name.endswith("_articles"))
        assert conn.execute(f"SELECT count(*) FROM {catalogue}").fetchone()[0] == len(ARTICLES)
    with pytest.raises(EvalSetupError, match="--record-db-url must be a sqlite"):
        EvalOptions(qa=qa, corpus=corpus, record_db_url="mysql://db/eval")


def one_language_line(qid: str, question: str, answers: list[str], doc: str, context: str, lang: str | None) -> str:
    row = {"id": qid, "question": question, "answers": answers, "context": context, "doc_file": doc}
    return json.dumps(row if lang is None else {**row, "lang": lang}, ensure_ascii=False)


@pytest.mark.parametrize(("row_lang", "asked"), [("de", "de"), (None, None)])
def test_a_german_only_file_finds_its_articles(tiny, tmp_path, row_lang, asked):
    # A user's own questions: German only, about German articles, no question_en anywhere. Without
    # lang in the rows or --lang, the language is detected from the questions.
    corpus, _, _, settings = tiny
    qa = tmp_path / "fragen.jsonl"
    qa.write_text(
        "".join(
            one_language_line(qid, de, answers_de, doc, ARTICLES[doc][paragraph], row_lang) + "\n"
            for qid, _, de, _, answers_de, doc, paragraph in QUESTIONS
        ),
        encoding="utf-8",
    )
    details = tmp_path / "details.jsonl"
    report = evaluate(
        EvalOptions(qa=qa, corpus=corpus, lang=asked, retrieval_only=True, details=details), settings, show_bar=False
    )
    metrics = report.metrics
    assert metrics["questions"] == len(QUESTIONS) and metrics["lang"] == "de"
    assert metrics["hit@4"] == 1.0 and metrics["hit@1"] == 1.0, metrics
    records = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["question"], r["first_hit"]) for r in records] == [(q[0], q[2], 1) for q in QUESTIONS]


def test_lang_is_any_language_code_and_the_file_must_have_it(tiny, tmp_path, capsys):
    corpus = tiny[0]
    qa = tmp_path / "fragen.jsonl"
    qa.write_text(
        one_language_line(
            "cablecar", QUESTIONS[1][2], QUESTIONS[1][4], QUESTIONS[1][5], ARTICLES[QUESTIONS[1][5]][2], "de"
        )
        + "\n",
        encoding="utf-8",
    )
    assert EvalOptions(qa=qa, corpus=corpus, lang="fr").lang == "fr"  # not limited to en and de
    with pytest.raises(EvalSetupError, match="language code"):
        EvalOptions(qa=qa, corpus=corpus, lang="French")
    from ui.cli import main

    # Checked before any index is built: exit 2 naming the file and the language it has.
    assert main(["eval", "--qa", str(qa), "--corpus", str(corpus), "--lang", "FR", "--retrieval-only"]) == 2
    assert capsys.readouterr().err == "newsqa: error: fragen.jsonl has questions in de, not in fr (--lang)\n"


def test_a_limit_draws_that_many_questions(tiny):
    corpus, qa, _, settings = tiny
    report = evaluate(EvalOptions(qa=qa, corpus=corpus, limit=2, seed=5, retrieval_only=True), settings, show_bar=False)
    assert report.metrics["questions"] == 2


def test_unanswerable_questions_report_the_gate_refusal(tiny):
    corpus, qa, unanswerable, settings = tiny
    report = evaluate(
        EvalOptions(qa=qa, corpus=corpus, retrieval_only=True, unanswerable=unanswerable), settings, show_bar=False
    )
    metrics = report.metrics
    assert metrics["unanswerable"] == len(UNANSWERABLE)
    assert 0.0 <= metrics["gate_refusal"] <= 1.0
    assert metrics["hit@1"] == 1.0  # the answerable ones are scored as before
    assert report.settings["gate_cross_language"] == settings.gate_cross_language


def test_questions_about_an_article_not_in_the_corpus_fail_before_indexing(tiny, tmp_path):
    _, qa, _, settings = tiny
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "baeckerei-graz.txt").write_text("Bäckerei\n\nText.", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="hochwasser-donau.txt"):
        evaluate(EvalOptions(qa=qa, corpus=partial, retrieval_only=True), settings, show_bar=False)


@pytest.mark.llm
def test_answers_are_scored_and_a_number_counts_across_conventions(tiny, tmp_path):
    corpus, _, _, settings = tiny
    # The number question and one other; the gold English answer is "4,500", the article says "4.500".
    qa = tmp_path / "two.jsonl"
    qa.write_text(
        "".join(qa_line(*q[:6], context=ARTICLES[q[5]][q[6]]) + "\n" for q in QUESTIONS[:2]), encoding="utf-8"
    )
    details = tmp_path / "details.jsonl"
    started = time.perf_counter()
    report = evaluate(EvalOptions(qa=qa, corpus=corpus, limit=2, details=details), settings, show_bar=False)
    seconds = time.perf_counter() - started
    metrics = report.metrics
    assert {
        "em",
        "f1",
        "f1_any",
        "numeric_exact",
        "citation_accuracy",
        "false_refusal",
        "answer_ms_p50",
    } <= metrics.keys()
    assert metrics.keys() >= RETRIEVAL_KEYS and metrics["questions"] == 2
    records = {r["id"]: r for r in map(json.loads, details.read_text(encoding="utf-8").splitlines())}
    bakery = records["bakery"]
    assert metrics["numeric"] == 1 and metrics["numeric_exact"] == 1.0, bakery
    assert bakery["refused"] is False and bakery["cited"], bakery
    assert bakery["gate"]["answerable"] is True and metrics["false_refusal_gate"] == 0.0
    assert 0.0 <= metrics["em"] <= metrics["f1"] <= metrics["f1_any"] <= 1.0
    assert metrics["answer_ms_p50"] > 0
    print(f"\ntiny LLM eval: {seconds:.1f} s; {json.dumps(metrics)}\n{json.dumps(records, ensure_ascii=False)}")


@pytest.mark.parametrize("name", INDEX_SETTINGS)
def test_the_cached_index_is_keyed_by_every_setting_that_changes_a_vector_or_chunk(name, tmp_path):
    settings = Settings(index_dir=tmp_path / "index")
    other = settings.model_copy(update={name: OTHER_INDEX_VALUES[name]})
    assert index_key(other, tmp_path / "corpus") != index_key(settings, tmp_path / "corpus")
    assert index_key(settings.model_copy(update={"top_k": 9}), tmp_path / "corpus") == index_key(
        settings, tmp_path / "corpus"
    )

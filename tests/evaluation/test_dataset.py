"""Evaluation questions: loading XQuAD and one-language files, sampling them, and the unanswerable split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.dataset import (
    OneLanguageItem,
    QAFileError,
    QAItem,
    XQuADItem,
    file_lang,
    load_qa,
    sample,
    split_unanswerable,
)


def row(n: int, doc_file: str = "artikel.txt", **changes: object) -> dict[str, object]:
    """One question line as XQuAD's files have it (the extra keys are ignored by the loader)."""
    base: dict[str, object] = {
        "id": f"q{n}",
        "article": "Artikel",
        "question_en": f"Question {n}?",
        "question_de": f"Frage {n}?",
        "answers_en": [f"answer {n}"],
        "answers_de": [f"Antwort {n}", f"die Antwort {n}"],
        "context_de": f"Absatz {n} mit der Antwort {n}.",
        "doc_file": doc_file,
        "paragraph_index": 0,
    }
    base.update(changes)
    return base


def one(n: int, doc_file: str = "artikel.txt", **changes: object) -> dict[str, object]:
    """One question line in the one-language format (German, as the articles)."""
    base: dict[str, object] = {
        "id": f"e{n}",
        "question": f"Wie viele Semmeln backt Bäckerei {n}?",
        "answers": [f"{n}.500", f"{n}500"],
        "context": f"Die Bäckerei {n} backt {n}.500 Semmeln.",
        "doc_file": doc_file,
        "lang": "de",
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_rows(path: Path, rows: list[dict[str, object]]) -> Path:
    return write_lines(path, [json.dumps(r, ensure_ascii=False) for r in rows])


# --- loading ------------------------------------------------------------------------------------


def test_a_line_becomes_a_question_in_both_languages(tmp_path):
    path = write_rows(tmp_path / "qa.jsonl", [row(1), row(2, doc_file="zwei.txt")])
    items = load_qa(path)
    assert [i.id for i in items] == ["q1", "q2"]
    first = items[0]
    assert first.question("en") == "Question 1?" and first.question("de") == "Frage 1?"
    assert first.golds("en") == ("answer 1",) and first.golds("de") == ("Antwort 1", "die Antwort 1")
    assert first.context == "Absatz 1 mit der Antwort 1." and items[1].doc_file == "zwei.txt"
    # What the evaluation asks of any item: the answer as the (German) article writes it, and all golds.
    assert first.article_answer == "Antwort 1"
    assert set(first.all_golds) == {"answer 1", "Antwort 1", "die Antwort 1"}
    assert isinstance(first, XQuADItem) and file_lang(items) == "en"


def test_a_one_language_line_is_asked_as_written(tmp_path):
    path = write_rows(tmp_path / "fragen.jsonl", [one(1), one(2, doc_file="zwei.txt", lang=" DE ")])
    items = load_qa(path, lang="de")
    first = items[0]
    assert isinstance(first, OneLanguageItem) and [i.lang for i in items] == ["de", "de"]
    assert first.question("de") == "Wie viele Semmeln backt Bäckerei 1?"
    assert first.golds("de") == ("1.500", "1500") == first.all_golds
    assert first.article_answer == "1.500"  # asked in the articles' language: the first answer is the article's
    assert first.context == "Die Bäckerei 1 backt 1.500 Semmeln." and items[1].doc_file == "zwei.txt"
    assert load_qa(path) == items and file_lang(items) == "de"
    with pytest.raises(ValueError, match="in de, not en"):
        first.question("en")


def test_one_language_rows_without_lang_take_the_language_given_or_detected(tmp_path):
    german = write_rows(tmp_path / "fragen.jsonl", [one(1, lang=None), one(2, lang=None)])
    assert file_lang(load_qa(german)) == "de"  # detected from the questions
    french = write_rows(tmp_path / "questions.jsonl", [one(1, question="Combien de croissants ?", lang=None)])
    items = load_qa(french, lang="fr")
    assert items[0].question("fr") == "Combien de croissants ?" and items[0].golds("fr") == ("1.500", "1500")
    assert file_lang(items) == "fr"  # detected from its question words, as English and German are
    # Rows without lang beside rows with it are in the file's language.
    mixed = write_rows(tmp_path / "gemischt.jsonl", [one(1, lang=None), one(2)])
    assert file_lang(load_qa(mixed)) == "de" and load_qa(mixed, lang="de")[0].question("de")


def test_blank_lines_are_skipped_and_a_missing_id_is_the_line(tmp_path):
    no_id = row(2)
    del no_id["id"]
    path = write_lines(tmp_path / "qa.jsonl", [json.dumps(row(1)), "", "   ", json.dumps(no_id)])
    assert [i.id for i in load_qa(path)] == ["q1", "qa.jsonl line 4"]


def test_bad_json_names_the_file_and_line(tmp_path):
    path = write_lines(tmp_path / "fragen.jsonl", [json.dumps(row(1)), "", '{"question_en": "What?", '])
    with pytest.raises(QAFileError, match=r"^fragen\.jsonl line 3: not JSON"):
        load_qa(path)


def test_a_line_that_is_not_an_object_names_the_file_and_line(tmp_path):
    path = write_lines(tmp_path / "fragen.jsonl", [json.dumps(row(1)), "[1, 2]"])
    with pytest.raises(QAFileError, match=r"^fragen\.jsonl line 2: not a JSON object$"):
        load_qa(path)


def test_missing_keys_are_named_with_the_file_and_line(tmp_path):
    broken = row(2)
    del broken["context_de"], broken["doc_file"]
    path = write_rows(tmp_path / "fragen.jsonl", [row(1), broken])
    with pytest.raises(QAFileError) as error:
        load_qa(path)
    assert str(error.value) == (
        "fragen.jsonl line 2: missing context_de, doc_file (an XQuAD row needs "
        "question_en, question_de, answers_en, answers_de, context_de, doc_file)"
    )


def test_missing_one_language_keys_are_named_with_the_file_and_line(tmp_path):
    path = write_rows(tmp_path / "qa.jsonl", [one(1), one(2), one(3, answers=None)])
    with pytest.raises(QAFileError) as error:
        load_qa(path)
    assert (
        str(error.value)
        == "qa.jsonl line 3: missing answers (a one-language row needs question, answers, context, doc_file)"
    )


def test_a_line_without_any_question_names_both_formats(tmp_path):
    path = write_rows(tmp_path / "qa.jsonl", [{"doc_file": "a.txt", "answer": "x"}])
    with pytest.raises(
        QAFileError,
        match=r"^qa\.jsonl line 1: missing question \(a one-language row needs .*; "
        r"an XQuAD row needs question_en",
    ):
        load_qa(path)
    # After a first row the file's format says what is missing.
    path = write_rows(tmp_path / "qa.jsonl", [one(1), {"doc_file": "a.txt"}])
    with pytest.raises(QAFileError, match=r"^qa\.jsonl line 2: missing question, answers, context \(a one-language"):
        load_qa(path)


def test_one_format_per_file_and_per_line(tmp_path):
    path = write_rows(tmp_path / "qa.jsonl", [one(1), row(2)])
    with pytest.raises(QAFileError, match=r"^qa\.jsonl line 2: an XQuAD row in a file of one-language rows"):
        load_qa(path)
    path = write_rows(tmp_path / "qa.jsonl", [row(1), one(2)])
    with pytest.raises(QAFileError, match=r"^qa\.jsonl line 2: a one-language row in a file of XQuAD rows"):
        load_qa(path)
    path = write_rows(tmp_path / "qa.jsonl", [row(1, question="Frage?")])
    with pytest.raises(QAFileError, match=r"^qa\.jsonl line 1: mixes the keys of both formats"):
        load_qa(path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"answers": "1.500"}, "answers must be a list"),
        ({"answers": []}, "answers must start with a non-blank answer"),
        ({"answers": [" ", "1.500"]}, "answers must start with a non-blank answer"),
        ({"question": ["Wie viele?"]}, "question must be a string"),
        ({"context": None, "doc_file": "a.txt"}, "missing context"),
        ({"doc_file": " "}, "doc_file must name the article's file"),
        ({"lang": "Deutsch"}, "lang must be a language code such as de, en or fr, not 'Deutsch'"),
        ({"lang": 7}, "lang must be a language code"),
    ],
)
def test_bad_one_language_values_are_named_with_the_file_and_line(tmp_path, changes, message):
    path = write_rows(tmp_path / "qa.jsonl", [one(1), one(2, **changes)])
    with pytest.raises(QAFileError, match=rf"^qa\.jsonl line 2: {message}"):
        load_qa(path)


# --- the language asked in (--lang) ---------------------------------------------------------------


def test_lang_must_be_one_the_file_has(tmp_path):
    path = write_rows(tmp_path / "fragen.jsonl", [one(1), one(2, lang=None), one(3)])
    with pytest.raises(QAFileError) as error:
        load_qa(path, lang="fr")
    assert str(error.value) == "fragen.jsonl has questions in de, not in fr (--lang)"
    xquad_file = write_rows(tmp_path / "dev.jsonl", [row(1)])
    with pytest.raises(QAFileError, match=r"^dev\.jsonl is an XQuAD file: its questions are in en and de, not fr"):
        load_qa(xquad_file, lang="fr")
    assert [i.question("de") for i in load_qa(xquad_file, lang="de")] == ["Frage 1?"]


def test_a_row_in_another_language_is_an_error_not_skipped(tmp_path):
    path = write_rows(tmp_path / "fragen.jsonl", [one(1), one(2), one(3, question="How many rolls?", lang="en")])
    with pytest.raises(QAFileError) as error:
        load_qa(path, lang="de")
    assert str(error.value) == "fragen.jsonl line 3: lang en, but --lang de (a question file holds one language)"
    with pytest.raises(QAFileError) as error:
        load_qa(path)  # without --lang the first row that names one sets the file's language
    assert (
        str(error.value)
        == "fragen.jsonl line 3: lang en, but fragen.jsonl line 1 is in de (a question file holds one language)"
    )


@pytest.mark.parametrize(
    "changes",
    [{"answers_en": "answer"}, {"answers_de": "Antwort"}, {"answers_de": []}, {"answers_de": ["  ", "Antwort"]}],
)
def test_answers_must_be_lists_with_a_first_german_answer(tmp_path, changes):
    # The first German answer decides retrieval hits: a blank one would make every passage a hit.
    path = write_rows(tmp_path / "fragen.jsonl", [row(1, **changes)])
    with pytest.raises(QAFileError, match=r"^fragen\.jsonl line 1: answers"):
        load_qa(path)


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_a_file_without_questions_is_named(tmp_path, content):
    path = tmp_path / "leer.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QAFileError, match="holds no questions") as error:
        load_qa(path)
    assert str(path) in str(error.value)


def test_a_missing_or_undecodable_file_is_named(tmp_path):
    with pytest.raises(QAFileError, match="cannot read the question file") as error:
        load_qa(tmp_path / "nirgends.jsonl")
    assert str(tmp_path / "nirgends.jsonl") in str(error.value)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(json.dumps(row(1, question_de="Größe?"), ensure_ascii=False).encode("latin-1"))
    with pytest.raises(QAFileError, match="latin.jsonl"):
        load_qa(latin)


# --- sampling -----------------------------------------------------------------------------------


def items_of(count: int) -> list[QAItem]:
    return [QAItem.from_json(row(n), f"line {n}") for n in range(count)]


def test_a_sample_is_reproducible_per_seed():
    items = items_of(60)
    assert sample(items, 10, seed=0) == sample(items, 10, seed=0)
    assert sample(items, 10, seed=1) == sample(items, 10, seed=1)
    assert sample(items, 10, seed=0) != sample(items, 10, seed=1)


def test_a_sample_has_the_size_asked_and_keeps_the_file_order():
    items = items_of(60)
    for seed in range(5):
        picked = sample(items, 10, seed=seed)
        assert len(picked) == 10 and len(set(picked)) == 10
        positions = [items.index(item) for item in picked]
        assert positions == sorted(positions)


def test_no_limit_or_a_large_one_takes_every_question():
    items = items_of(7)
    assert sample(items, None, seed=3) == items
    assert sample(items, 7, seed=3) == items
    assert sample(items, 100, seed=3) == items


def test_a_sample_of_the_real_questions_is_stable(xquad):
    # 100 of the 632 questions with seed 0, as `newsqa eval --limit 100 --seed 0` asks them:
    # the same ids on every run, so figures of two runs are comparable.
    items = load_qa(xquad / "dev.jsonl")
    assert len(items) == 632
    first, again = sample(items, 100, seed=0), sample(load_qa(xquad / "dev.jsonl"), 100, seed=0)
    assert [i.id for i in first] == [i.id for i in again]
    assert len({i.doc_file for i in first}) > 10  # drawn from across the file, not its head


def test_the_gold_paragraph_of_every_real_question_is_in_its_article(xquad):
    # The retrieval hit test relies on it (README of the data: context_de appears verbatim).
    texts: dict[str, str] = {}
    for item in load_qa(xquad / "dev.jsonl"):
        text = texts.setdefault(item.doc_file, (xquad / "corpus" / item.doc_file).read_text(encoding="utf-8"))
        assert item.context in text, item.id
        assert item.article_answer in item.context, item.id


# --- the unanswerable split -------------------------------------------------------------------------


@pytest.fixture
def corpus(tmp_path) -> Path:
    """Six articles with questions (a.txt .. f.txt) and two without (x.txt, y.txt)."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ["a", "b", "c", "d", "e", "f", "x", "y"]:
        (folder / f"{name}.txt").write_text(f"Titel {name}\n\nText über {name}.", encoding="utf-8")
    return folder


@pytest.fixture
def questions() -> list[QAItem]:
    # Two or three questions per article, the articles interleaved as in a real file.
    rows = [row(n, doc_file=f"{'abcdef'[n % 6]}.txt") for n in range(15)]
    return [QAItem.from_json(r, f"line {n}") for n, r in enumerate(rows)]


def read_ids(path: Path) -> list[str]:
    return [item.id for item in load_qa(path)]


def test_the_split_removes_half_the_question_articles_and_sorts_their_questions(tmp_path, corpus, questions):
    split = split_unanswerable(questions, corpus, tmp_path / "split", seed=0)
    removed = set(split.removed)
    assert len(removed) == 3 and removed <= {f"{c}.txt" for c in "abcdef"}
    copied = {p.name for p in split.corpus_dir.iterdir()}
    assert split.corpus_dir == tmp_path / "split" / "corpus"
    assert copied == {p.name for p in corpus.iterdir()} - removed  # the rest, articles without questions too
    assert {"x.txt", "y.txt"} <= copied and not removed & copied
    for name in copied:
        assert (split.corpus_dir / name).read_text(encoding="utf-8") == (corpus / name).read_text(encoding="utf-8")
    unanswerable, answerable = load_qa(split.unanswerable), load_qa(split.answerable)
    assert unanswerable and answerable
    assert all(item.doc_file in removed for item in unanswerable)
    assert all(item.doc_file in copied for item in answerable)
    assert sorted(read_ids(split.unanswerable) + read_ids(split.answerable)) == sorted(i.id for i in questions)
    assert set(unanswerable) | set(answerable) == set(questions)  # every field survives the round trip


def test_the_split_has_calibration_and_test_halves_of_different_articles(tmp_path, corpus, questions):
    split = split_unanswerable(questions, corpus, tmp_path / "split", seed=0)
    halves = {}
    for half in (split.calibration, split.test):
        answerable, unanswerable = load_qa(half / "answerable.jsonl"), load_qa(half / "unanswerable.jsonl")
        assert answerable and unanswerable  # each half can measure refusals both ways
        assert {i.doc_file for i in unanswerable} <= set(split.removed)
        assert not {i.doc_file for i in answerable} & set(split.removed)
        halves[half] = {i.doc_file for i in answerable + unanswerable}
    assert not halves[split.calibration] & halves[split.test]  # the test half's articles are unseen
    everything = read_ids(split.answerable) + read_ids(split.unanswerable)
    parts = [read_ids(h / f) for h in halves for f in ("answerable.jsonl", "unanswerable.jsonl")]
    assert sorted(everything) == sorted(i for part in parts for i in part)


def test_the_split_keeps_the_file_order_and_is_reproducible_per_seed(tmp_path, corpus, questions):
    first = split_unanswerable(questions, corpus, tmp_path / "one", seed=0)
    again = split_unanswerable(questions, corpus, tmp_path / "two", seed=0)
    assert first.removed == again.removed
    ids = [i.id for i in questions]
    for path in (first.answerable, first.unanswerable):
        assert read_ids(path) == sorted(read_ids(path), key=ids.index)
    removed_per_seed = {split_unanswerable(questions, corpus, tmp_path / f"s{s}", seed=s).removed for s in range(6)}
    assert len(removed_per_seed) > 1


def test_a_second_split_into_the_same_folder_replaces_the_first(tmp_path, corpus, questions):
    out = tmp_path / "split"
    first = split_unanswerable(questions, corpus, out, seed=0)
    splits = (split_unanswerable(questions, corpus, out, seed=seed) for seed in range(1, 20))
    second = next(split for split in splits if split.removed != first.removed)
    assert {p.name for p in second.corpus_dir.iterdir()} == {p.name for p in corpus.iterdir()} - set(second.removed)


@pytest.mark.parametrize("out", [".", "corpus", "corpus/.."])
def test_the_split_never_writes_over_its_own_corpus(tmp_path, corpus, questions, out):
    # --out beside a folder named corpus would make the copy's folder the corpus itself.
    before = sorted(p.name for p in corpus.iterdir())
    with pytest.raises(ValueError, match="apart from it"):
        split_unanswerable(questions, corpus, tmp_path / out, seed=0)
    assert sorted(p.name for p in corpus.iterdir()) == before


def test_the_split_needs_the_articles_and_two_of_them(tmp_path, corpus, questions):
    (corpus / "c.txt").unlink()
    with pytest.raises(QAFileError, match="c.txt"):
        split_unanswerable(questions, corpus, tmp_path / "split")
    one_article = [q for q in questions if q.doc_file == "a.txt"]
    with pytest.raises(QAFileError, match="at least two articles"):
        split_unanswerable(one_article, corpus, tmp_path / "split")


def test_the_split_of_the_real_data_keeps_the_articles_without_questions(tmp_path, xquad):
    items = load_qa(xquad / "dev.jsonl")
    split = split_unanswerable(items, xquad / "corpus", tmp_path / "split", seed=0)
    asked = {item.doc_file for item in items}
    everything = {p.name for p in (xquad / "corpus").iterdir()}
    copied = {p.name for p in split.corpus_dir.iterdir()}
    assert len(asked) == 24 and len(split.removed) == 12
    assert copied == everything - set(split.removed) and everything - asked <= copied
    assert len(load_qa(split.answerable)) + len(load_qa(split.unanswerable)) == len(items)


def test_the_split_of_a_one_language_file_keeps_its_format(tmp_path, corpus):
    rows = [one(n, doc_file=f"{'abcdef'[n % 6]}.txt", lang=None if n % 2 else "de") for n in range(12)]
    path = write_rows(tmp_path / "fragen.jsonl", rows)
    items = load_qa(path, lang="de")
    split = split_unanswerable(items, corpus, tmp_path / "split", seed=0)
    written = [
        json.loads(line)
        for target in (split.answerable, split.unanswerable)
        for line in target.read_text(encoding="utf-8").splitlines()
    ]
    assert sorted(written, key=lambda r: r["id"]) == sorted(rows, key=lambda r: r["id"])  # lang only where it was
    unanswerable, answerable = load_qa(split.unanswerable, lang="de"), load_qa(split.answerable, lang="de")
    assert all(item.doc_file in split.removed for item in unanswerable)
    assert not any(item.doc_file in split.removed for item in answerable)
    assert set(unanswerable) | set(answerable) == set(items)

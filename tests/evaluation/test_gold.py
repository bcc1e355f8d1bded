"""The gold side of an evaluation on an inline article: what counts as a retrieval hit, a read hit, the
gold paragraph handed over as the only passage."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.dataset import OneLanguageItem
from evaluation.gold import GoldRetriever, GoldSpans, holds_gold
from rag.retrieval.retrieving import Passage, Retriever
from tests.conftest import write_corpus

PARAGRAPH = "Der Pegel in Krems stieg auf 9,2 Meter. Die Altstadt wurde gesperrt, die Feuerwehr pumpte Keller aus."
NEXT = (
    "In Linz blieb es dagegen ruhig. Die Schifffahrt auf der Donau ruht aber seit Montag, weil die Brücken "
    "zu niedrig sind, und die Reedereien rechnen mit Ausfällen bis zum Ende der Woche, wie ein Sprecher sagte."
)
ARTICLE = f"Hochwasser an der Donau\n\n{PARAGRAPH}\n\n{NEXT}"
ITEM = OneLanguageItem(
    id="q1", context=PARAGRAPH, doc_file="hochwasser.txt", text="Wie hoch stieg der Pegel?", answers=("9,2 Meter",)
)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus", {"hochwasser.txt": ARTICLE, "andere.txt": ARTICLE})


def at(corpus: Path, text: str, name: str = "hochwasser.txt") -> Passage:
    """``text`` as a passage of article ``name`` at its offsets in ARTICLE."""
    start = ARTICLE.index(text)
    return Passage(text, str(corpus / name), name, "Hochwasser an der Donau", start, start + len(text), 0.8)


def test_the_gold_paragraph_is_found_at_its_offsets_in_the_loaded_article(corpus):
    spans = GoldSpans(corpus)
    assert spans.paragraph(ITEM) == (ARTICLE.index(PARAGRAPH), ARTICLE.index(PARAGRAPH) + len(PARAGRAPH))
    gold = spans.gold_passage(ITEM)
    assert (gold.text, gold.name, gold.title, gold.score) == (
        PARAGRAPH,
        "hochwasser.txt",
        "Hochwasser an der Donau",
        1.0,
    )
    assert (gold.start, gold.end) == spans.paragraph(ITEM)


def test_a_hit_is_of_the_gold_article_and_holds_the_answer_or_lies_half_in_the_paragraph(corpus):
    spans = GoldSpans(corpus)
    assert spans.is_hit(at(corpus, "Der Pegel in Krems stieg auf 9,2 Meter."), ITEM)  # the answer
    assert spans.is_hit(at(corpus, "Die Altstadt wurde gesperrt"), ITEM)  # inside the paragraph
    assert not spans.is_hit(at(corpus, "Der Pegel in Krems stieg auf 9,2 Meter.", "andere.txt"), ITEM)
    assert not spans.is_hit(at(corpus, NEXT), ITEM)


def test_a_read_hit_is_a_window_covering_half_the_paragraph(corpus):
    spans = GoldSpans(corpus)
    # Half the paragraph, without the answer, in a window mostly of the next paragraph: what the model
    # reads holds it, though as a retrieved passage it would not count.
    window = at(corpus, f"Die Altstadt wurde gesperrt, die Feuerwehr pumpte Keller aus.\n\n{NEXT}")
    assert not spans.is_hit(window, ITEM) and spans.is_read_hit(window, ITEM)
    assert not spans.is_read_hit(at(corpus, NEXT), ITEM)


def test_a_text_holds_the_gold_answer_in_any_case_and_spacing():
    assert holds_gold("Der Pegel stieg auf 9,2\n  METER.", ITEM)
    assert not holds_gold("Der Pegel stieg auf 9,3 Meter.", ITEM)


def test_the_gold_retriever_hands_over_the_paragraph_of_the_question_asked(corpus):
    spans = GoldSpans(corpus)
    retriever = GoldRetriever(Retriever(object(), 4), spans)  # type: ignore[arg-type]  # never searched
    retriever.current = ITEM
    found = retriever.search("any question")
    assert found.passages == [spans.gold_passage(ITEM)] and found.dense_scores == [1.0]

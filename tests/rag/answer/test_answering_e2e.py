"""End to end with the real models: the shipped German article, questions in English and German.

Nothing here is known to the product: the expected facts are read from the article by the test.
"""

from __future__ import annotations

import pytest

from rag.answer.answering import build_answerer
from rag.text.language import detect_language
from rag.text.numbers import find_numbers

pytestmark = pytest.mark.llm

ARTICLE = "nordkorea-soldaten-russland.txt"


@pytest.fixture(scope="module")
def answerer(corpus_settings):
    return build_answerer(corpus_settings)


@pytest.fixture(scope="module")
def all_at_once(corpus_settings):
    """The reader of NEWSQA_CASCADE_DEPTH=0: the top passages as retrieved, all in one prompt."""
    return build_answerer(corpus_settings.model_copy(update={"cascade_depth": 0, "evidence": "passages"}))


def values(text: str) -> set[float]:
    return {v for n in find_numbers(text) for v in n.values}


def test_how_many_soldiers_in_english_gets_the_number_as_the_article_states_it(answerer):
    answer = answerer.ask("how many soldiers?")
    assert not answer.refused, answer.answer
    # The article says both "10.000 bis 12.000 Soldaten" and "Bis zu 12.000 ... Soldaten": the range,
    # or the upper bound with its "up to" (never a bare "12,000", which would claim more).
    found = values(answer.answer)
    assert {10_000.0, 12_000.0} <= found or (12_000.0 in found and "up to" in answer.answer.lower()), answer.answer
    assert answer.citations and {c.source for c in answer.citations} == {ARTICLE}
    assert any("12.000" in c.text for c in answer.citations)
    assert answer.unsupported_numbers == []
    assert detect_language(answer.answer, default="en") == "en", answer.answer
    assert answer.answer.count("[") >= 1


def test_the_same_question_in_german_is_answered_in_german(answerer):
    answer = answerer.ask("Wie viele nordkoreanische Soldaten wurden nach Russland geschickt?")
    assert not answer.refused, answer.answer
    assert 12_000.0 in values(answer.answer), answer.answer
    assert {c.source for c in answer.citations} == {ARTICLE}
    assert detect_language(answer.answer, default="de") == "de", answer.answer
    assert not {"soldiers", "to", "and"} & set(answer.answer.lower().split()), answer.answer


def test_off_topic_question_is_refused(answerer):
    answer = answerer.ask("Who won the football World Cup in 2014?")
    assert answer.refused and answer.citations == []
    assert answer.answer.startswith("The articles do not answer “Who won the football World Cup in 2014?”.")


def test_in_topic_question_the_article_cannot_answer_is_refused(answerer):
    answer = answerer.ask("How many tanks did North Korea send?")
    assert answer.refused, answer.answer
    assert answer.citations == []


def test_the_whole_range_comes_back_in_german(answerer):
    answer = answerer.ask("Wie viele Soldaten hat Nordkorea nach Russland geschickt?")
    assert not answer.refused, answer.answer
    found = values(answer.answer)
    # "10.000 bis 12.000" or "Bis zu 12.000", never a bare "12.000" that claims more than the article
    assert {10_000.0, 12_000.0} <= found or (12_000.0 in found and "bis zu" in answer.answer.lower()), answer.answer


@pytest.mark.xfail(
    strict=True,
    reason="Known regression of the cascade reader (docs/quality.md, issue 22): read alone, the paragraph that "
    "says 'rund 4.000 ... getötet oder verletzt' gets NOT FOUND from the 1.5B model for this English question "
    "(and some German phrasings of it). Without the counting refusal among its examples it answers, but then "
    "also answers 'How many tanks?' with the soldiers' number. Strict: fixing it makes this test fail.",
)
def test_a_qualified_number_keeps_its_qualifier_through_translation(answerer):
    assert_qualified_number(answerer.ask("How many North Korean soldiers were killed or wounded?"))


def test_a_qualified_number_keeps_its_qualifier_when_all_passages_are_read_at_once(all_at_once):
    assert_qualified_number(all_at_once.ask("How many North Korean soldiers were killed or wounded?"))


def assert_qualified_number(answer):
    assert not answer.refused, answer.answer
    assert 4_000.0 in values(answer.answer), answer.answer
    assert "4,000" in answer.answer  # written the English way
    assert "about" in answer.answer.lower(), answer.answer  # "rund 4.000"
    assert answer.unsupported_numbers == []

"""Finishing the model's reply: citations that follow the copied words, the checks, refusals with a lead."""

from __future__ import annotations

import pytest

from rag.answer.finishing import finish_answer, grounded_markers, refusal, split_citations
from rag.answer.results import Lead
from rag.retrieval.retrieving import Passage


def _passages(*texts: str) -> list[Passage]:
    return [Passage(t, "a.md", "a.md", "", 0, len(t), 0.9) for t in texts]


@pytest.mark.parametrize(
    ("phrase", "markers", "expected"),
    [
        ("Kawann Short", " [3]", " [1]"),  # only passage 1 holds the copied words: the marker moves there
        ("Kawann  short", " [2]", " [1]"),  # spacing and case do not matter
        ("Ealy", " [3]", " [3]"),  # the cited passage holds it: kept
        ("Ealy", " [1][3]", " [1][3]"),  # one of the cited passages holds it: kept
        ("201", " [2]", " [2]"),  # "201" is not the number 2015: no match, kept
        ("Cam Newton", " [2]", " [2]"),  # in no passage (paraphrased): nothing to go by, kept
        ("Josh Norman", "", " [2]"),  # no marker at all: the passage that holds it
    ],
)
def test_a_citation_follows_the_copied_words(phrase, markers, expected):
    passages = _passages("Kawann Short führte mit 11 Sacks.", "Josh Norman kam 2015.", "Kony Ealy hatte 5 Sacks.")
    assert grounded_markers(phrase, markers, passages) == expected


def test_the_phrase_is_split_from_its_markers():
    assert split_citations("10.000 bis 12.000 Soldaten [2] [3]") == ("10.000 bis 12.000 Soldaten", " [2][3]")
    assert split_citations("Kim Jong-un") == ("Kim Jong-un", "")


GERMAN = _passages(
    "Nordkorea hat Truppen nach Russland geschickt. Die Soldaten kämpfen in der Region Kursk.",
    "Westliche Geheimdienste sprechen von 10.000 bis 12.000 Soldaten. Rund 4.000 wurden verletzt.",
)


def test_a_copied_phrase_becomes_a_cited_answer_resting_on_its_sentence():
    timings = {"total": 1.0}
    answer = finish_answer("Wie viele Soldaten?", "10.000 bis 12.000 Soldaten [1]", GERMAN, "de", timings, None)
    assert not answer.refused and answer.answer == "10.000 bis 12.000 Soldaten [2]"  # the words are in passage 2
    assert [c.n for c in answer.citations] == [2] and answer.citations[0].text == GERMAN[1].text
    assert answer.quote == "10.000 bis 12.000 Soldaten"
    assert answer.support is not None and answer.support.text.startswith("Westliche Geheimdienste")
    assert "translate" in timings and timings["total"] >= timings["translate"]


@pytest.mark.parametrize("reply", ["NOT FOUND", "25.000 Soldaten [2]"])
def test_a_refusal_or_an_invented_number_becomes_a_refusal_naming_the_closest_article(reply):
    answer = finish_answer("Wie viele Panzer?", reply, GERMAN, "de", {"total": 1.0}, None)
    assert answer.refused and answer.citations == [] and answer.lead == Lead.of(GERMAN[0])
    assert answer.answer == refusal("Wie viele Panzer?", "de", answer.lead)
    assert answer.answer.startswith("Die Artikel beantworten „Wie viele Panzer?“ nicht.")

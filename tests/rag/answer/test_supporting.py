"""Supporting sentences: the sentence of a cited passage that holds the answer's number or words."""

from __future__ import annotations

from rag.answer.supporting import claim_for, sentence_with, supporting_span
from tests.conftest import CORPUS

ARTICLE = (CORPUS / "nordkorea-soldaten-russland.txt").read_text(encoding="utf-8")


def test_each_citation_vouches_for_the_text_before_it():
    answer = "10,000 to 12,000 soldiers [1], in the Kursk region [3]"
    assert claim_for(answer, 1) == "10,000 to 12,000 soldiers"
    assert claim_for(answer, 3) == "in the Kursk region"
    assert claim_for("Kursk [1][2]", 2) == "Kursk"  # nothing between the markers: the whole answer


def test_the_sentence_with_the_cited_number_is_found_across_number_formats():
    start, end = supporting_span("10,000 to 12,000 soldiers", ARTICLE)
    assert ARTICLE[start:end] == (
        "Westliche Geheimdienste sprechen von 10.000 bis 12.000 Soldaten, die im vergangenen Herbst "
        "nach Russland geschickt wurden, um in Kursk zu kämpfen."
    )
    start, end = supporting_span("about 4,000 killed or wounded", ARTICLE)
    assert "rund 4.000 nordkoreanische Soldaten getötet oder verletzt" in ARTICLE[start:end]


def test_without_numbers_the_sentence_sharing_most_words_wins():
    start, end = supporting_span("Waleri Gerassimow", ARTICLE)
    assert "Gerassimow" in ARTICLE[start:end] and ARTICLE[start:end].startswith("Sie hätten")


def test_nothing_in_common_gives_no_sentence():
    assert supporting_span("99 elephants", ARTICLE) is None


def test_the_sentence_holding_the_quoted_words_is_found_whatever_the_spacing():
    passage = "Bis zu 12.000 Soldaten.\nWestliche Geheimdienste sprechen von 10.000 bis\n12.000 Soldaten. Rund 4.000 verletzt."
    start, end = sentence_with("10.000 bis 12.000 Soldaten", passage)
    assert passage[start:end].startswith("Westliche") and passage[start:end].endswith("Soldaten.")
    assert sentence_with("20.000 Soldaten", passage) is None
    assert sentence_with("", passage) is None

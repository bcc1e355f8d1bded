"""BM25 keyword search over passages: ranking, stemming, the article filter."""

from __future__ import annotations

import pytest

from rag.retrieval.keyword import KeywordIndex, terms

TEXTS = [
    "Die Feuerwehr rettete 300 Menschen aus dem Hochwasser in Linz.",
    "Der Bürgermeister von Graz eröffnete den neuen Bahnhof.",
    "Die Soldaten kehrten nach Nordkorea zurück; 4.000 Soldaten wurden getötet.",
    "Wetter: morgen Regen in Wien und Linz.",
]
SOURCES = ["/c/hochwasser.txt", "/c/graz.txt", "/c/nordkorea.txt", "/c/wetter.txt"]


@pytest.fixture
def index() -> KeywordIndex:
    return KeywordIndex.build([f"id{i}" for i in range(len(TEXTS))], TEXTS, SOURCES)


def test_inflected_forms_meet_and_short_words_are_dropped():
    assert terms("Soldaten") == terms("Soldat") == ["soldat"]
    assert terms("a 12.000 Soldaten") == ["12", "000", "soldat"]


def test_the_passage_sharing_the_rare_words_ranks_first(index):
    ranked = index.search("Wie viele Soldaten wurden getötet?", k=4)
    assert ranked[0][0] == "id2"
    assert all(a[1] >= b[1] for a, b in zip(ranked, ranked[1:]))


def test_a_rare_word_outweighs_a_common_one(index):
    # "Linz" is in two passages, "Feuerwehr" in one: the passage with both comes first.
    assert index.search("Feuerwehr Linz", k=2)[0][0] == "id0"


def test_passages_without_a_query_word_are_not_returned(index):
    assert [key for key, _ in index.search("Bahnhof", k=4)] == ["id1"]
    assert index.search("Kathedrale", k=4) == []


def test_the_article_filter_keeps_only_those_articles(index):
    assert [key for key, _ in index.search("Linz", k=4, sources={"/c/wetter.txt"})] == ["id3"]


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="must match"):
        KeywordIndex.build(["a"], ["x", "y"], ["s"])

"""Numbers compared as numbers across English and German conventions (pure functions)."""

import pytest

from rag.text.numbers import find_numbers, support_score, unsupported_numbers

PASSAGES = [
    "Westliche Geheimdienste sprechen von 10.000 bis 12.000 Soldaten, die nach Russland geschickt wurden.",
    "Laut südkoreanischen Informationen wurden seitdem rund 4.000 nordkoreanische Soldaten getötet oder verletzt.",
    "Die Inflation lag im Oktober bei 3,5 Prozent.",
]


@pytest.mark.parametrize(
    "written",
    ["12.000", "12,000", "12000", "12 000", "12, 000", "12\u202f000", "12\u00a0000", "12'000"],
)
def test_the_ways_small_models_print_twelve_thousand_all_match_the_german_passage(written):
    assert unsupported_numbers(f"about {written} soldiers", ["Bis zu 12.000 Soldaten"]) == []


def test_decimals_match_across_conventions_but_thousands_never_read_as_decimals():
    assert unsupported_numbers("3.5 percent", [PASSAGES[2]]) == []
    assert unsupported_numbers("3,5 Prozent", [PASSAGES[2]]) == []
    # "12,000" is never 12.0, so a passage with "12" does not support it
    assert unsupported_numbers("12,000 soldiers", ["12 Soldaten"]) == ["12,000"]


def test_number_not_in_the_passages_is_unsupported():
    assert unsupported_numbers("15,000 soldiers", PASSAGES) == ["15,000"]


def test_citation_markers_are_not_numbers():
    assert [n.text for n in find_numbers("10,000 to 12,000 soldiers [1] [2, 3]")] == ["10,000", "12,000"]


def test_support_counts_shared_numbers_above_shared_words():
    claim = "4,000 soldiers killed"
    assert support_score(claim, PASSAGES[1]) > support_score(claim, PASSAGES[0])
    assert support_score("12,000 Soldaten", PASSAGES[0]) == 11.0  # one number (10) and one word (1)
    assert support_score("nothing shared", PASSAGES[2]) == 0.0

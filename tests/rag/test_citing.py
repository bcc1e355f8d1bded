"""Citation checking and number matching (pure functions, no models)."""

import pytest

from rag.citing import check_answer, collapse_repeats, cited_numbers, find_numbers, numbers_supported

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
    assert numbers_supported(f"about {written} soldiers", ["Bis zu 12.000 Soldaten"]) == []


def test_decimals_match_across_conventions_but_thousands_never_read_as_decimals():
    assert numbers_supported("3.5 percent", [PASSAGES[2]]) == []
    assert numbers_supported("3,5 Prozent", [PASSAGES[2]]) == []
    # "12,000" is never 12.0, so a passage with "12" does not support it
    assert numbers_supported("12,000 soldiers", ["12 Soldaten"]) == ["12,000"]


def test_number_not_in_the_passages_is_unsupported():
    assert numbers_supported("15,000 soldiers", PASSAGES) == ["15,000"]


def test_citation_markers_are_not_numbers():
    assert [n.text for n in find_numbers("10,000 to 12,000 soldiers [1] [2, 3]")] == ["10,000", "12,000"]


def test_cited_numbers_in_order_without_repeats():
    assert cited_numbers("a [2] b [1, 2] c [Passage 3]") == [2, 1, 3]


def test_citations_to_passages_never_given_are_removed():
    checked = check_answer("10,000 to 12,000 soldiers [1] [7].", PASSAGES)
    assert checked.answer == "10,000 to 12,000 soldiers [1]."
    assert checked.cited == [1]
    assert checked.unsupported == []


def test_answer_without_valid_citation_gets_the_best_supporting_passage():
    checked = check_answer("about 4,000 killed or wounded [9]", PASSAGES)
    assert checked.cited == [2] and checked.attached
    assert checked.answer.endswith("[2]")


def test_a_citation_of_the_wrong_passage_moves_to_the_given_passage_that_holds_the_number():
    # 4,000 is in passage 2, but the model cited passage 1
    checked = check_answer("4,000 soldiers [1]", PASSAGES)
    assert checked.answer == "4,000 soldiers [2]" and checked.cited == [2]
    assert checked.recited and checked.unsupported == []


def test_a_number_in_no_given_passage_stays_unsupported_and_makes_the_answer_unfounded():
    checked = check_answer("12 tanks [1]", PASSAGES)
    assert checked.unsupported == ["12"] and checked.invented == ["12"]
    assert checked.unfounded


def test_one_invented_number_beside_a_supported_one_is_flagged_not_unfounded():
    checked = check_answer("10,000 to 15,000 soldiers [1]", PASSAGES)
    assert checked.unsupported == ["15,000"] and not checked.unfounded


def test_numbers_from_the_question_are_not_flagged():
    checked = check_answer("No, 10,000 to 12,000, not 50,000 [1]", PASSAGES, question="Were 50,000 sent?")
    assert checked.unsupported == []


def test_the_same_answer_found_in_several_passages_is_written_once():
    assert collapse_repeats("Kursk [1], Kursk [2], Kursk [3]") == "Kursk [1][2][3]"
    assert collapse_repeats("Kursk [1], Moskau [2]") == "Kursk [1], Moskau [2]"

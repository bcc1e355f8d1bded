"""Citation checking and number matching (pure functions, no models)."""

from rag.answer.citing import check_answer, collapse_repeats

PASSAGES = [
    "Westliche Geheimdienste sprechen von 10.000 bis 12.000 Soldaten, die nach Russland geschickt wurden.",
    "Laut südkoreanischen Informationen wurden seitdem rund 4.000 nordkoreanische Soldaten getötet oder verletzt.",
    "Die Inflation lag im Oktober bei 3,5 Prozent.",
]


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

"""Scoring one answer: SQuAD normalisation for English and German, numbers as numbers, EM, F1."""

from __future__ import annotations

import pytest

from evaluation.scoring import exact_match, f1, is_numeric, normalize, numbers_in, numeric_exact

# --- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Panthers", "panthers"),
        ("a dog and an owl", "dog and owl"),
        ("Die Verteidigung der Panthers", "verteidigung panthers"),
        (
            "ein Haus, eine Katze, einen Hund, einem Kind, einer Frau, eines Mannes, dem Volk, des Landes, das Ende, den",
            "haus katze hund kind frau mannes volk landes ende",
        ),
        ("Denver Broncos!", "denver broncos"),
        ("„Super Bowl“ (50).", "super bowl #50"),
        ("Rock-'n'-Roll; Sturm & Drang…", "rocknroll sturm drang"),
        ("Denver Broncos [1]", "denver broncos"),
        ("Denver [1][12] Broncos [3].", "denver broncos"),
        ("  DENVER\n\tBroncos  ", "denver broncos"),
    ],
)
def test_normalize_drops_case_punctuation_articles_and_citations(text, expected):
    assert normalize(text) == expected


def test_a_bracket_that_is_not_a_citation_is_only_punctuation():
    assert normalize("[Anm. d. Red.]") == "anm d red"


def test_a_hash_in_the_text_is_not_taken_for_a_number():
    assert normalize("#1 hit") == normalize("1 hit")
    assert numbers_in("#MeToo million") == set()  # a scale word after a hashtag: no number, no crash


# --- numbers as numbers -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["10.000", "10,000", "10000", "10\u202f000", "10\u00a0000"])  # thin, no-break
def test_thousands_separators_of_both_languages_give_the_same_number(text):
    assert numbers_in(text) == {10_000.0}


@pytest.mark.parametrize(
    "text, value",
    [
        ("1,5", 1.5),  # German decimal comma
        ("1.5", 1.5),  # English decimal point
        ("1.500", 1500.0),  # German thousands
        ("1,500", 1500.0),  # English thousands
        ("0.125", 0.125),  # a leading 0 never leads a thousands group
        ("2014.5", 2014.5),  # nor does a group of four digits
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        ("1.000.000", 1e6),
        ("1,000,000.5", 1_000_000.5),
        ("8,6 Metern", 8.6),
        ("the 1990s", 1990.0),
        ("16th", 16.0),
    ],
)
def test_decimal_and_thousands_separators_are_told_apart(text, value):
    assert numbers_in(text) == {value}


@pytest.mark.parametrize(
    "german, english",
    [
        ("1,2 Millionen", "1.2 million"),
        ("2,01 Millionen", "2.01 million"),  # 2.01 * 1e6 is 2010000.0000000002 in floats
        ("4,7 Milliarden", "4.7 billion"),
        ("3 Mio.", "3 million"),
        ("drei", "three"),
        ("zwölf", "twelve"),
    ],
)
def test_scale_words_and_number_words_are_folded_into_the_number(german, english):
    assert numbers_in(german) == numbers_in(english) != set()
    assert exact_match(german, [english]) == 1.0


def test_scale_words_give_the_value_they_name():
    assert numbers_in("1,2 Millionen") == {1_200_000.0}
    assert numbers_in("2.01 million") == {2_010_000.0}
    assert numbers_in("1.5 billion") == {1_500_000_000.0}
    assert numbers_in("drei Punkte") == {3.0}
    assert numbers_in("tausend") == set()  # a scale word alone is no number


def test_a_number_inside_a_word_is_not_a_number():
    assert numbers_in("U2 und A380") == set()


# --- exact match ------------------------------------------------------------------------------


def test_exact_match_is_after_normalisation():
    assert exact_match("The Panthers.", ["Panthers"]) == 1.0
    assert exact_match("die Panthers [2]", ["Panthers"]) == 1.0
    assert exact_match("10,000 soldiers", ["10.000 Soldaten"]) == 0.0  # numbers match, words do not
    assert exact_match("10,000", ["10.000"]) == 1.0


def test_exact_match_needs_the_whole_answer():
    assert exact_match("Carolina Panthers", ["Panthers"]) == 0.0
    assert exact_match("1.5", ["1,500"]) == 0.0


def test_exact_match_takes_the_best_gold_and_ignores_blank_golds():
    assert exact_match("Broncos", ["Denver Broncos", "Broncos"]) == 1.0
    assert exact_match("", ["", "  "]) == 0.0
    assert exact_match("anything", []) == 0.0


# --- token F1 ---------------------------------------------------------------------------------


def test_f1_of_a_partial_overlap():
    # prediction: denver broncos won (3 tokens, "the" dropped); gold: denver broncos (2 tokens).
    # common 2 -> precision 2/3, recall 2/2 -> F1 = 2 * (2/3) * 1 / (2/3 + 1) = 0.8
    assert f1("The Denver Broncos won", ["Denver Broncos"]) == pytest.approx(0.8)


def test_f1_counts_a_number_as_one_token_across_languages():
    # prediction: #10000 to #12000 soldiers (4 tokens, citation dropped); gold: #10000 bis #12000 (3).
    # common 2 -> precision 2/4, recall 2/3 -> F1 = 2 * (1/2) * (2/3) / (1/2 + 2/3) = 4/7
    assert f1("10,000 to 12,000 soldiers [1]", ["10.000 bis 12.000"]) == pytest.approx(4 / 7)


def test_f1_counts_repeated_tokens_only_as_often_as_they_match():
    # prediction: panthers panthers panthers; gold: panthers -> common 1, precision 1/3, recall 1 -> 0.5
    assert f1("Panthers, Panthers, Panthers", ["Panthers"]) == pytest.approx(0.5)


def test_f1_is_the_best_over_the_golds():
    assert f1("Denver Broncos", ["Carolina Panthers", "the Denver Broncos"]) == 1.0
    assert f1("Denver", ["Carolina Panthers", "Denver Broncos"]) == pytest.approx(2 / 3)


def test_f1_without_overlap_or_answer_is_zero():
    assert f1("Carolina Panthers", ["Denver Broncos"]) == 0.0
    assert f1("", ["Denver Broncos"]) == 0.0
    assert f1("Denver Broncos", []) == 0.0
    assert f1("Denver Broncos", ["   "]) == 0.0


# --- numeric answers --------------------------------------------------------------------------


@pytest.mark.parametrize("golds", [["308"], ["308 Punkte"], ["drei"], ["1,2 Millionen Euro"], ["", "10.000"]])
def test_a_number_with_a_word_or_two_is_numeric(golds):
    assert is_numeric(golds)


@pytest.mark.parametrize("golds", [["Denver Broncos"], ["in 1990 when the team moved to a new stadium"], [], ["   "]])
def test_names_and_long_answers_are_not_numeric(golds):
    assert not is_numeric(golds)


def test_numeric_exact_needs_the_gold_number():
    assert numeric_exact("The defense gave up 308 points [1].", ["308"])
    assert numeric_exact("about 4.500", ["4,500"])
    assert numeric_exact("1.2 million euros", ["1,2 Millionen Euro"])
    assert not numeric_exact("309 points", ["308"])
    assert not numeric_exact("3,08", ["308"])


def test_a_refusal_or_an_empty_answer_is_never_numeric_exact():
    assert not numeric_exact("", ["308"])
    assert not numeric_exact("The articles do not say.", ["308"])
    assert not numeric_exact("Die Artikel sagen das nicht.", ["308"])


def test_a_range_containing_the_gold_number_counts():
    assert numeric_exact("10,000 to 12,000 soldiers [1]", ["12.000"])
    assert numeric_exact("zwischen 10.000 und 12.000", ["10,000"])


def test_every_number_of_a_gold_answer_must_be_stated():
    assert not numeric_exact("12,000", ["10.000 bis 12.000"])
    assert numeric_exact("12,000 or 10,000", ["10.000 bis 12.000"])


def test_a_gold_answer_without_a_number_is_never_numeric_exact():
    assert not numeric_exact("308 points", ["Denver Broncos"])
    assert not numeric_exact("308", [])

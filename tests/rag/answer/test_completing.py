"""The whole fact around a copied number: qualifiers, ranges and scales put back from the passage."""

import pytest

from rag.answer.completing import whole_fact


@pytest.mark.parametrize(
    ("phrase", "passage", "expected"),
    [
        ("12.000", "Bis zu 12.000 Soldaten sollen es sein.", "Bis zu 12.000"),
        ("12.000 Soldaten", "Es sind rund 12.000 Soldaten.", "rund 12.000 Soldaten"),
        ("300", "In Linz wurden mehr als 300 Häuser evakuiert.", "mehr als 300"),
        ("12,000", "Officials say up to 12,000 troops were sent.", "up to 12,000"),
        ("5", "It took about  5 hours.", "about 5"),  # whitespace folded
        ("12.000", "Es kamen 12.000 Soldaten.", "12.000"),  # no qualifier
        ("12.000", "12.000 Soldaten kamen.", "12.000"),  # nothing before the number
        ("Soldaten", "Bis zu 12.000 Soldaten.", "Soldaten"),  # not a number
        ("zwölftausend", "bis zu zwölftausend", "zwölftausend"),  # does not start with a digit
        ("15.000", "Bis zu 12.000 Soldaten.", "15.000"),  # not in the passage
        ("", "Bis zu 12.000 Soldaten.", ""),
        # a qualifier must be a word of its own, not the end of a longer one
        ("2019", "Ein Plus von fünf Prozent gegenüber 2019.", "2019"),
        ("96", "Das Spiel gegen Hannover 96 endete 1:1.", "96"),
        ("5", "Aus diesem Grund 5 Tage lang.", "5"),
    ],
)
def test_a_qualifier_before_the_number_comes_back(phrase, passage, expected):
    assert whole_fact(phrase, passage) == expected


@pytest.mark.parametrize(
    ("phrase", "passage", "expected"),
    [
        # a number copied from inside a range comes back as the range, either end
        ("12.000", "Geheimdienste sprechen von 10.000 bis 12.000 Soldaten.", "10.000 bis 12.000"),
        ("10.000", "Geheimdienste sprechen von 10.000 bis 12.000 Soldaten.", "10.000 bis 12.000"),
        ("2.000 Kunden", "Zwischen 1.500 und 2.000 Kunden protestierten.", "Zwischen 1.500 und 2.000 Kunden"),
        ("1.500", "Zwischen 1.500 und 2.000 Kunden protestierten.", "Zwischen 1.500 und 2.000"),
        ("1998", "Er regierte 1994-1998 das Land.", "1994-1998"),
        ("12,000", "Officials say between 10,000 and 12,000 troops were sent.", "between 10,000 and 12,000"),
        ("12,000", "They sent 10,000 to 12,000 troops.", "10,000 to 12,000"),
        # a scale, percent or currency after the number is part of the amount
        ("1,2", "Die Kosten liegen bei 1,2 Milliarden Euro.", "1,2 Milliarden Euro"),
        ("3,5", "Die Inflation lag bei 3,5 Prozent.", "3,5 Prozent"),
        ("2.5", "The deal is worth 2.5 billion dollars.", "2.5 billion dollars"),
        # "und" joins a list, not a range, unless "zwischen" opens it
        ("300", "Im Jahr 2015 und 300 Tage später.", "300"),
        # words around a number that do not change it stay out
        ("4.000", "Seitdem wurden 4.000 Soldaten getötet.", "4.000"),
    ],
)
def test_ranges_and_scales_come_back_whole(phrase, passage, expected):
    assert whole_fact(phrase, passage) == expected

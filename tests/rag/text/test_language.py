"""Question language detection and the fixed messages."""

import pytest

from rag.text.language import detect_language, localise_numbers, message


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("How many soldiers did North Korea send?", "en"),
        ("how many soldiers?", "en"),
        ("Wie viele Soldaten hat Nordkorea geschickt?", "de"),
        ("Wer ist der Chef des russischen Generalstabs?", "de"),
        ("Wo kämpfen die Soldaten?", "de"),
        ("What did Gerassimow say about the soldiers?", "en"),
    ],
)
def test_detects_english_and_german_questions(question, language):
    assert detect_language(question) == language


def test_undecidable_text_gets_the_default():
    assert detect_language("Kim Jong-un?") == "en"
    assert detect_language("12.000", default="de") == "de"


def test_messages_exist_in_each_language_and_fall_back_to_english():
    said = {lang: message("not_answered", lang, question="?") for lang in ("en", "de", "fr", "es", "it")}
    assert len(set(said.values())) == 5
    assert message("not_answered", "pt", question="?") == said["en"]
    assert "5000" in message("too_long", "en", length=5000, limit=2000)


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Combien de soldats la Corée du Nord a-t-elle envoyés en Russie ?", "fr"),
        ("Qui est le chef de l'état-major russe ?", "fr"),
        ("¿Cuántos soldados envió Corea del Norte a Rusia?", "es"),
        ("¿Quién es el jefe del Estado Mayor ruso?", "es"),
        ("Quanti soldati ha inviato la Corea del Nord in Russia?", "it"),
        ("Chi è il capo di stato maggiore russo?", "it"),
    ],
)
def test_detects_a_third_language_instead_of_taking_it_for_english(question, language):
    assert detect_language(question) == language


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("10.000 bis 12.000 soldiers [1]", "en", "10,000 bis 12,000 soldiers [1]"),
        ("about 1.234.567 people", "en", "about 1,234,567 people"),
        ("3,5 percent and 1.5 points", "en", "3,5 percent and 1.5 points"),
        ("10,000 bis 12,000 Soldaten", "de", "10.000 bis 12.000 Soldaten"),
        ("in 2024, 12 people", "en", "in 2024, 12 people"),
        ("12.000", "fr", "12.000"),
        ("10, 000 to 12, 000 [1]", "en", "10,000 to 12,000 [1]"),
        ("10. 000 bis 12. 000", "de", "10.000 bis 12.000"),
    ],
)
def test_thousands_separators_follow_the_answer_language(text, language, expected):
    assert localise_numbers(text, language) == expected

"""Paragraphs of an article's text: one rule for every loader's layout, on texts written here."""

from __future__ import annotations

import textwrap

from rag.retrieval.paragraphs import (
    blank_line_paragraphs,
    block_sentences,
    paragraph_sentences,
    split_paragraphs,
    unseen_whitespace,
)

ONE = (
    "Der Gemeinderat hat am Dienstag das Budget für das kommende Jahr beschlossen. Die neue Volksschule "
    "soll im Herbst eröffnet werden und bietet Platz für acht Klassen."
)
TWO = (
    "Für die Sanierung der Ortsdurchfahrt sind 740.000 Euro vorgesehen. Außerdem bekommt der Fußballplatz "
    "eine neue Flutlichtanlage, die im Frühjahr montiert wird."
)
HEADING = "Bis zu 12.000 nordkoreanische Soldaten in Russland"


def texts(text: str) -> list[str]:
    return [text[p.start : p.end] for p in split_paragraphs(text)]


def test_a_blank_line_or_a_line_break_after_a_sentence_ends_a_paragraph():
    assert texts(f"{ONE}\n\n{TWO}") == [ONE, TWO]
    assert texts(f"{ONE}\n{TWO}\n") == [ONE, TWO]  # one paragraph a line (HTML, DOCX, PDF, most .txt)


def test_a_heading_is_a_short_line_without_final_punctuation_and_opens_the_next_paragraph():
    text = f"Budget beschlossen\n{ONE}\n{HEADING}\n{TWO}"
    paragraphs = split_paragraphs(text)
    assert [p.heading for p in paragraphs] == [True, False, True, False]
    # The heading is the first "sentence" of the paragraph after it, from either side.
    for index in (2, 3):
        sentences = block_sentences(text, paragraphs, index)
        assert text[slice(*sentences[0])] == HEADING and text[slice(*sentences[-1])].startswith("Außerdem")
    # A heading followed by another heading stands alone.
    text = f"Politik\n{HEADING}\n{TWO}"
    assert [text[slice(*s)] for s in block_sentences(text, split_paragraphs(text), 0)] == ["Politik"]


def test_a_hard_wrapped_paragraph_is_one_paragraph_and_its_sentences_run_across_lines():
    wrapped = [textwrap.fill(p, 60) for p in (ONE, TWO)]
    for text in (f"{HEADING}\n\n{wrapped[0]}\n\n{wrapped[1]}", f"{HEADING}\n{wrapped[0]}\n{wrapped[1]}"):
        paragraphs = split_paragraphs(text)
        assert [" ".join(t.split()) for t in texts(text)] == [HEADING, ONE, TWO]
        assert paragraphs[0].heading and not paragraphs[1].heading
        sentences = [" ".join(text[s:e].split()) for s, e in paragraph_sentences(text, paragraphs[2])]
        assert sentences == [
            "Für die Sanierung der Ortsdurchfahrt sind 740.000 Euro vorgesehen.",
            "Außerdem bekommt der Fußballplatz eine neue Flutlichtanlage, die im Frühjahr montiert wird.",
        ]


def test_with_blank_lines_between_paragraphs_a_wrapped_line_may_end_a_sentence():
    wrapped = "Der Rat tagte am Montag im großen Saal des alten Rathauses.\nEr beschloss einen Plan für den Ort."
    other = "Am Dienstag war Ruhe im Ort."
    assert texts(f"{wrapped}\n\n{other}\n\n{other}") == [wrapped, other, other]
    # Without blank lines a line break after a sentence ends the paragraph.
    assert texts(f"{wrapped}\n{other}") == [*wrapped.split("\n"), other]


def test_long_lines_never_wrap():
    long_line = "Ein Satz ohne Punkt am Ende " * 10  # 280 characters: a paragraph of its own, no heading
    paragraphs = split_paragraphs(f"{long_line}\n{ONE}")
    assert len(paragraphs) == 2 and not paragraphs[0].heading


def test_the_whitespace_between_passages_is_guessed_from_the_articles_layout():
    assert blank_line_paragraphs([f"{ONE}\n\n{TWO}", TWO])
    assert not blank_line_paragraphs([f"{ONE}\n{TWO}"])
    assert not blank_line_paragraphs([f"{HEADING}\n\n{ONE}", f"{ONE}\n{TWO}"])  # single breaks after sentences
    assert not blank_line_paragraphs([ONE, TWO])  # nothing to tell: end the paragraph
    assert unseen_whitespace(1, blank_lines=True) == " "
    assert unseen_whitespace(1, blank_lines=False) == "\n"
    assert unseen_whitespace(2, blank_lines=True) == "\n\n"
    assert split_paragraphs(ONE + unseen_whitespace(1, False) + TWO) == split_paragraphs(f"{ONE}\n{TWO}")

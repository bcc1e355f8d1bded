"""The paragraphs of an article's text as its loader laid them out, and the sentences of each.

Usage::

    paragraphs = split_paragraphs(text)        # [Paragraph(start, end, heading), ...], in order
    sentences = block_sentences(text, paragraphs, 3)   # [(start, end), ...] of paragraph 3 and its heading

Every loader writes an article's paragraphs as lines: .txt and .md as written (a blank line or a
line break between paragraphs), HTML one line per ``<p>`` or block, DOCX one line per paragraph,
PDF its layout lines reflowed into one line per paragraph, .jsonl its text field. One rule reads
them all: a paragraph ends at a blank line and at every line break, except the soft line breaks of
a hard-wrapped text (a .txt of 72-character lines), which continue the sentence. A line break is
soft when the text's usual line is short (at most ``WRAP_CHARS``), the line before it is nearly
full (or the next line goes on in lower case), and the line before does not end a sentence; where
the text separates its paragraphs by blank lines, a full line ending a sentence is soft too (a
sentence may end at the wrap). A heading is a paragraph of one short line without sentence-final
punctuation ("Bis zu 12.000 nordkoreanische Soldaten in Russland"): it belongs to the paragraph
after it, as that paragraph's first "sentence".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text.sentences import CLOSERS, split_sentences

#: Longer lines are not headings (the chunker's limit for sub-headings too).
HEADING_CHARS = 120
#: A text whose usual line is longer than this is not hard-wrapped (wrapping is at 60-100 characters).
WRAP_CHARS = 120
#: A wrapped line fills at least this share of the usual line (the next word did not fit).
_FULL_LINE = 0.6
#: Blank-line gaps that make a text "separates its paragraphs by blank lines" (one may follow a title).
_BLANK_SEPARATED = 2
_ENDS_SENTENCE = re.compile(rf"[.!?…][{re.escape(CLOSERS)}]*$")


@dataclass(frozen=True)
class Paragraph:
    """A paragraph's character offsets in the article (whitespace excluded); ``heading``: one short line
    without sentence-final punctuation."""

    start: int
    end: int
    heading: bool


def _filled_lines(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each line with text, surrounding whitespace excluded."""
    lines, at = [], 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            start = at + line.index(stripped[0])
            lines.append((start, start + len(stripped)))
        at += len(line) + 1
    return lines


def _ends_sentence(text: str, start: int, end: int) -> bool:
    return _ENDS_SENTENCE.search(text, start, end) is not None


def split_paragraphs(text: str) -> list[Paragraph]:
    """The paragraphs of ``text``, in order (see the module docstring for the rule).

    Usage: ``[text[p.start:p.end] for p in split_paragraphs(article_text)]``
    """
    lines = _filled_lines(text)
    if not lines:
        return []
    lengths = sorted(end - start for start, end in lines)
    # The usual full line: a high percentile, so a few long lines do not make it (as the PDF loader does).
    width = lengths[int(0.9 * (len(lengths) - 1))]
    gaps = [text.count("\n", end, following) for (_, end), (following, _) in zip(lines, lines[1:])]
    blank_separated = sum(gap > 1 for gap in gaps) >= _BLANK_SEPARATED

    def soft(k: int) -> bool:
        """Whether the break after line ``k`` continues the paragraph (a hard-wrapped line)."""
        if width > WRAP_CHARS or gaps[k] != 1:
            return False
        (start, end), following = lines[k], lines[k + 1][0]
        continues = end - start >= _FULL_LINE * width or text[following].islower()
        return continues and (blank_separated or not _ends_sentence(text, start, end))

    out, begin = [], None
    for k, (start, end) in enumerate(lines):
        begin = start if begin is None else begin
        if k + 1 == len(lines) or not soft(k):
            one_line = begin == start
            heading = one_line and end - start <= HEADING_CHARS and not _ends_sentence(text, start, end)
            out.append(Paragraph(begin, end, heading))
            begin = None
    return out


def paragraph_sentences(text: str, paragraph: Paragraph) -> list[tuple[int, int]]:
    """The sentences of ``paragraph`` in article offsets; a soft line break inside one does not end it.

    Usage: ``[text[s:e] for s, e in paragraph_sentences(text, paragraph)]``
    """
    # The splitter ends a sentence at every line break; inside a paragraph they are only soft ones.
    flat = text[paragraph.start : paragraph.end].replace("\n", " ")
    return [(paragraph.start + s, paragraph.start + e) for s, e in split_sentences(flat)]


def block_sentences(text: str, paragraphs: list[Paragraph], index: int) -> list[tuple[int, int]]:
    """The sentences of the paragraph at ``index`` with its heading first: the paragraph after a heading,
    the heading before a paragraph.

    Usage: ``sentences = block_sentences(text, split_paragraphs(text), 3)``
    """
    paragraph = paragraphs[index]
    heading = None
    if paragraph.heading and index + 1 < len(paragraphs) and not paragraphs[index + 1].heading:
        heading, paragraph = paragraph, paragraphs[index + 1]
    elif not paragraph.heading and index > 0 and paragraphs[index - 1].heading:
        heading = paragraphs[index - 1]
    head = [(heading.start, heading.end)] if heading else []
    return head + paragraph_sentences(text, paragraph)

"""The paragraphs of an article's text as its loader laid them out, and the sentences of each.

Usage::

    paragraphs = split_paragraphs(text)        # [Paragraph(start, end, heading), ...], in order
    sentences = block_sentences(text, paragraphs, 3)   # [(start, end), ...] of paragraph 3 and its heading

Every loader writes an article's paragraphs as lines: .txt and .md as written (a blank line or a
line break between paragraphs), HTML one line per ``<p>`` or block, DOCX one line per paragraph,
PDF its layout lines reflowed into one line per paragraph, .jsonl its text field. One rule reads
them all: a paragraph ends at a blank line and at every line break, except the soft line breaks of
a hard-wrapped text (a .txt of 72-character lines), which continue the sentence. A line break is
soft when the text's usual line is short (at most ``WRAP_CHARS``), the next line's first word would
not have fit on the line before (or the next line goes on in lower case), and the line before does
not end a sentence; where the text separates its paragraphs by blank lines, such a line ending a
sentence is soft too (a sentence may end at the wrap). A heading is a paragraph of one short line without sentence-final
punctuation ("Bis zu 12.000 nordkoreanische Soldaten in Russland"): it belongs to the paragraph
after it, as that paragraph's first "sentence".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rag.text.sentences import CLOSERS, split_sentences

#: Longer lines are not headings (the chunker's limit for sub-headings too).
HEADING_CHARS = 120
#: A text whose usual line is longer than this is not hard-wrapped (wrapping is at 60-100 characters).
WRAP_CHARS = 120
#: Fewer lines than this: the longest sets the wrap width.
_FEW_LINES = 10
#: Blank-line gaps that make a text "separates its paragraphs by blank lines" (one may follow a title).
_BLANK_SEPARATED = 2
_ENDS_SENTENCE = re.compile(rf"[.!?…][{re.escape(CLOSERS)}]*$")
_LINE_BREAK_AFTER_SENTENCE = re.compile(rf"[.!?…][{re.escape(CLOSERS)}]*[ \t]*\n(?![ \t]*\n)")


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
    # The wrap width: the longest line of a short text, else a high percentile, so that one long line
    # (a URL) does not set it (as the PDF loader does).
    width = lengths[int(0.9 * (len(lengths) - 1))] if len(lengths) >= _FEW_LINES else lengths[-1]
    gaps = [text.count("\n", end, following) for (_, end), (following, _) in zip(lines, lines[1:])]
    blank_separated = sum(gap > 1 for gap in gaps) >= _BLANK_SEPARATED

    def soft(k: int) -> bool:
        """Whether the break after line ``k`` continues the paragraph (a hard-wrapped line)."""
        if width > WRAP_CHARS or gaps[k] != 1:
            return False
        (start, end), (following, following_end) = lines[k], lines[k + 1]
        # Wrapped: the next line's first word did not fit on this one (a heading is followed by a line
        # whose first word would have), or the next line goes on in lower case.
        word = len(text[following:following_end].split(None, 1)[0])
        continues = end - start + 1 + word > width or text[following].islower()
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


def blank_line_paragraphs(texts: Iterable[str]) -> bool:
    """Whether an article (these pieces of it) separates its paragraphs by blank lines: it has blank lines,
    and no single line break follows a sentence.

    Usage: ``blank_line_paragraphs(passage_texts)``
    """
    blank_lines = single_breaks = False
    for text in texts:
        blank_lines = blank_lines or "\n\n" in text
        single_breaks = single_breaks or _LINE_BREAK_AFTER_SENTENCE.search(text) is not None
    return blank_lines and not single_breaks


def unseen_whitespace(length: int, blank_lines: bool) -> str:
    """The likeliest ``length`` characters of whitespace the chunker left between two passages that do not
    overlap, in an article that does (``blank_lines``) or does not separate its paragraphs by blank lines.

    Usage: ``text = before + unseen_whitespace(gap, blank_line_paragraphs(texts)) + after``

    Two or more are a blank line. One is a space where paragraphs are separated by blank lines; otherwise
    a line break, which ends a paragraph: reading a paragraph short is better than reading across two.
    """
    if length > 1:
        return "\n" * length
    return " " if blank_lines else "\n"

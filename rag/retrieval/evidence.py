"""What the model reads: for each retrieved passage, the paragraph of its article that holds its best
sentence; or the passages as retrieved.

Usage::

    evidences = read_paragraphs(store, passages, chars=900)         # one per passage, overlaps merged
    evidence(settings, store, passages)                               # what NEWSQA_EVIDENCE chooses

A 100-token passage is what retrieval ranks best (one fact, one vector), but not always what the
answer needs: the number is often in the next sentence, and four separate snippets of one article
invite the small model to copy from the wrong one. A paragraph evidence grows sentence by sentence
(the next one first) from the passage's best sentence up to ``chars`` characters, but only within the
paragraph (rag.retrieval.paragraphs): one coherent piece of one article. It is read from the stored
passages, so the text is the article's own and the offsets are the article's. (Windows that grew the
same way across paragraphs were measured and left the product: docs/quality.md.)
"""

from __future__ import annotations

import contextlib
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, replace

from chromadb.errors import InternalError

from rag.retrieval.paragraphs import (
    Paragraph,
    blank_line_paragraphs,
    block_sentences,
    split_paragraphs,
    unseen_whitespace,
)
from rag.retrieval.retrieving import Passage
from rag.settings import Settings
from rag.store import PASSAGES_ONLY, Store
from rag.text.sentences import skip_space


@dataclass(frozen=True)
class _Sentence:
    start: int  # offsets in the article
    end: int


@dataclass
class _Article:
    """What the index holds of one article: its passages' text pieced together, with offsets."""

    pieces: list[tuple[int, int, str]]  # (start, end, text) of each stored passage, by start

    _whole: str | None = None
    _paragraphs: list[Paragraph] | None = None

    def text(self, start: int, end: int, *, filler: Callable[[int], str] | None = None) -> str:
        """The article's text from ``start`` to ``end``, from the passages that cover it.

        ``filler(n)``: what stands for the ``n`` characters between two passages that do not overlap
        (one line break when None, so the text is shorter than ``end - start``).
        """
        out, at = [], start
        for p_start, p_end, text in self.pieces:
            if p_end <= at or p_start >= end:
                continue
            if p_start > at:
                # between passages: only whitespace, which the chunker skips
                out.append(filler(p_start - at) if filler else "\n")
                at = p_start
            out.append(text[at - p_start : min(end, p_end) - p_start])
            at = min(end, p_end)
        return "".join(out)

    def whole(self) -> str:
        """The article's text as far as its passages go, in the article's offsets (the whitespace between
        passages that do not overlap guessed: rag.retrieval.paragraphs.unseen_whitespace)."""
        if self._whole is None:
            blank_lines = blank_line_paragraphs(text for _, _, text in self.pieces)
            end = max((end for _, end, _ in self.pieces), default=0)
            self._whole = self.text(0, end, filler=lambda n: unseen_whitespace(n, blank_lines))
        return self._whole

    def paragraphs(self) -> list[Paragraph]:
        """The article's paragraphs (rag.retrieval.paragraphs), read once."""
        if self._paragraphs is None:
            self._paragraphs = split_paragraphs(self.whole())
        return self._paragraphs


def _load_article(store: Store, source: str) -> _Article | None:
    """The stored passages of ``source``; None when the index cannot say (being written)."""
    got = None
    with contextlib.suppress(InternalError):
        got = store.collection.get(
            where={"$and": [{"source": source}, PASSAGES_ONLY]}, include=["documents", "metadatas"]
        )
    if not got or not got["ids"]:
        return None
    pieces = sorted(
        {(int(m.get("start", 0)), int(m.get("end", 0)), d or "") for d, m in zip(got["documents"], got["metadatas"])}
    )
    return _Article(pieces)


def _grow(sentences: list[_Sentence], start: int, end: int, chars: int) -> tuple[int, int]:
    """``(start, end)`` widened by whole ``sentences``, the next one first, while it stays within ``chars``."""
    inside = [i for i, s in enumerate(sentences) if s.start < end and start < s.end]
    if not inside:
        return start, end
    lo, hi = inside[0], inside[-1]
    start, end = min(start, sentences[lo].start), max(end, sentences[hi].end)
    grew = True
    while grew:
        grew = False
        for step in (1, -1):  # after, then before
            i = hi + 1 if step == 1 else lo - 1
            if 0 <= i < len(sentences):
                s = sentences[i]
                if max(end, s.end) - min(start, s.start) <= chars:
                    start, end = min(start, s.start), max(end, s.end)
                    lo, hi = (lo, i) if step == 1 else (i, hi)
                    grew = True
    return start, end


def _paragraph_evidence(article: _Article, passage: Passage, chars: int) -> Passage | None:
    """The evidence around ``passage`` in its paragraph; None when the passage is better kept as it is
    (its best sentence alone is longer than ``chars``)."""
    text, paragraphs = article.whole(), article.paragraphs()
    if not paragraphs:
        return None
    focus_start, focus_end = passage.focus_start, passage.focus_end
    if focus_start is not None and focus_end is not None:
        index = max(0, bisect_right([p.start for p in paragraphs], focus_start) - 1)
    else:  # no sentence of it was among the nearest: the paragraph holding most of the passage
        index = max(
            range(len(paragraphs)),
            key=lambda i: min(paragraphs[i].end, passage.end) - max(paragraphs[i].start, passage.start),
        )
    sentences = [_Sentence(s, e) for s, e in block_sentences(text, paragraphs, index)]
    best = None
    if focus_start is not None and focus_end is not None:
        # The focus is a sentence record; in a hard-wrapped text it may be a line, parts of two sentences.
        shared = {s: min(s.end, focus_end) - max(s.start, focus_start) for s in sentences}
        best = max((s for s in sentences if shared[s] > 0), key=lambda s: shared[s], default=None)
    if best is not None:
        start, end = best.start, best.end
    else:  # the passage's own sentences in that paragraph, from its first, as far as the budget goes
        inside = [s for s in sentences if s.start < passage.end and passage.start < s.end]
        if not inside:
            return None
        start = inside[0].start
        end = max((s.end for s in inside if s.end - start <= chars), default=inside[0].end)
    if end - start > chars:
        return None
    start, end = _grow(sentences, start, end, chars)
    # A paragraph shorter than the passage (one sentence a line: DOCX, many news sites) must not hide
    # what retrieval found around it: such an evidence also covers the passage when both fit the budget.
    lo, hi = min(start, passage.start), max(end, passage.end)
    if end - start < passage.end - passage.start and hi - lo <= chars:
        start, end = lo, hi
    return replace(
        passage,
        text=text[start:end],
        start=start,
        end=end,
        focus_start=best.start if best else None,
        focus_end=best.end if best else None,
    )


def _beside(text: str, piece: Passage, other: Passage) -> Passage | None:
    """``piece`` without what it shares with ``other`` (a paragraph evidence of the same paragraph), when
    its focus lies outside ``other``; else None."""
    if piece.focus_start is None or piece.focus_end is None:
        return None
    if piece.focus_start >= other.end:  # piece reaches back into other: start at the sentence after it
        start = skip_space(text, other.end, piece.focus_start)
        return replace(piece, text=text[start : piece.end], start=start)
    if piece.focus_end <= other.start:
        end = piece.focus_end + len(text[piece.focus_end : other.start].rstrip())  # at the sentence before other
        return replace(piece, text=text[piece.start : end], end=end)
    return None


def _add(out: list[tuple[Passage, bool]], piece: Passage, cut: bool, text: str, chars: int) -> None:
    """Add the evidence ``piece`` (``cut``: from a paragraph of ``text``) to ``out`` without overlaps:
    merged into an overlapping earlier one when both fit ``chars`` together (and reach no third one),
    cut back to its own part when its focus lies beside it, else dropped."""
    for i, (other, other_cut) in enumerate(out):
        if other.source != piece.source or piece.end <= other.start or other.end <= piece.start:
            continue
        start, end = min(piece.start, other.start), max(piece.end, other.end)
        both = cut and other_cut  # then they share their paragraph: together whole sentences of it
        apart = all(o is other or o.source != piece.source or end <= o.start or o.end <= start for o, _ in out)
        if both and end - start <= chars and apart:
            out[i] = (replace(other, text=text[start:end], start=start, end=end), True)
            return
        rest = _beside(text, piece, other) if both else None
        if rest is None:
            return
        piece = rest
    out.append((piece, cut))


def read_paragraphs(store: Store, passages: list[Passage], chars: int) -> list[Passage]:
    """One evidence per passage (best first): the paragraph of its article holding the passage's best
    sentence, cut to at most ``chars`` around that sentence, in whole sentences.

    Usage: ``evidences = read_paragraphs(store, retriever.run(question), chars=900)``

    The best sentence is the one retrieval saw nearest the question (``Passage.focus_start``); an
    evidence carries its offsets as its own focus. Without one, the evidence grows from the passage's
    first sentence in the paragraph holding most of it, and has no focus. A heading line before the
    paragraph is its first sentence (rag.retrieval.paragraphs). An evidence overlapping a better-ranked
    one of its article is merged into it when together they fit ``chars``, else cut back to the part
    beside it when its best sentence is there, else dropped. A passage whose article cannot be read
    back, or whose best sentence alone is longer than ``chars``, is kept as it is.
    """
    articles: dict[str, _Article | None] = {}
    out: list[tuple[Passage, bool]] = []  # each evidence, and whether it was cut from its paragraph
    for passage in passages:
        if passage.source not in articles:
            articles[passage.source] = _load_article(store, passage.source)
        article = articles[passage.source]
        piece = _paragraph_evidence(article, passage, chars) if article else None
        _add(out, piece or passage, piece is not None, article.whole() if article else "", chars)
    return [piece for piece, _ in out]


def evidence(settings: Settings, store: Store, passages: list[Passage]) -> list[Passage]:
    """What the model reads for these retrieved passages (``NEWSQA_EVIDENCE``): the paragraphs holding
    them, or the passages themselves.

    Usage: ``evidence(settings, retriever.store, retriever.run(question))``
    """
    if settings.evidence == "paragraphs":
        return read_paragraphs(store, passages, settings.evidence_chars)
    return passages

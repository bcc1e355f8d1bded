"""What the model reads: the best passages widened to their neighbouring sentences in the article,
merged where they touch, as a few numbered windows.

Usage::

    windows = read_windows(store, passages, windows=2, chars=1000)   # list[Passage], best first

A 100-token passage is what retrieval ranks best (one fact, one vector), but not always what the
answer needs: the number is often in the next sentence, and four separate snippets of one article
invite the small model to copy from the wrong one. A window is a passage grown sentence by sentence
on both sides (the next sentence first) up to ``chars`` characters; windows of one article that
overlap or touch become one. Windows are read from the stored passages, so the text is the
article's own and the offsets are the article's.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

from chromadb.errors import InternalError

from rag.retrieval.retrieving import Passage
from rag.settings import Settings
from rag.store import PASSAGES_ONLY, Store
from rag.text.sentences import split_sentences


@dataclass(frozen=True)
class _Sentence:
    start: int  # offsets in the article
    end: int


@dataclass
class _Article:
    """What the index holds of one article: its passages' text pieced together, with offsets."""

    pieces: list[tuple[int, int, str]]  # (start, end, text) of each stored passage, by start
    sentences: list[_Sentence]

    def text(self, start: int, end: int) -> str:
        """The article's text from ``start`` to ``end``, from the passages that cover it."""
        out, at = [], start
        for p_start, p_end, text in self.pieces:
            if p_end <= at or p_start >= end:
                continue
            if p_start > at:
                out.append("\n")  # between passages: only whitespace, which the chunker skips
                at = p_start
            out.append(text[at - p_start : min(end, p_end) - p_start])
            at = min(end, p_end)
        return "".join(out)


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
    starts: dict[int, int] = {}
    for p_start, _, text in pieces:
        for s, e in split_sentences(text):
            starts.setdefault(p_start + s, p_start + e)
    sentences = [_Sentence(s, e) for s, e in sorted(starts.items())]
    return _Article(pieces, sentences)


def _grow(article: _Article, start: int, end: int, chars: int) -> tuple[int, int]:
    """``(start, end)`` widened by whole sentences, the next one first, while it stays within ``chars``."""
    inside = [i for i, s in enumerate(article.sentences) if s.start < end and start < s.end]
    if not inside:
        return start, end
    lo, hi = inside[0], inside[-1]
    start, end = min(start, article.sentences[lo].start), max(end, article.sentences[hi].end)
    grew = True
    while grew:
        grew = False
        for step in (1, -1):  # after, then before
            i = hi + 1 if step == 1 else lo - 1
            if 0 <= i < len(article.sentences):
                s = article.sentences[i]
                if max(end, s.end) - min(start, s.start) <= chars:
                    start, end = min(start, s.start), max(end, s.end)
                    lo, hi = (lo, i) if step == 1 else (i, hi)
                    grew = True
    return start, end


def read_windows(store: Store, passages: list[Passage], windows: int, chars: int) -> list[Passage]:
    """The first ``windows`` windows around ``passages`` (best first), each about ``chars`` long.

    A passage whose article cannot be read back is kept as it is.
    """
    articles: dict[str, _Article | None] = {}
    spans: list[tuple[Passage, int, int]] = []  # (best passage, start, end), in rank order
    for passage in passages:
        if len(spans) == windows:
            break  # lower-ranked passages would only widen the windows already chosen
        if any(b.source == passage.source and s <= passage.start and passage.end <= e for b, s, e in spans):
            continue  # already read in a window
        if passage.source not in articles:
            articles[passage.source] = _load_article(store, passage.source)
        article = articles[passage.source]
        start, end = _grow(article, passage.start, passage.end, chars) if article else (passage.start, passage.end)
        for i, (best, s, e) in enumerate(spans):
            if best.source == passage.source and start <= e + 2 and s <= end + 2:
                spans[i] = (best, min(s, start), max(e, end))  # touching windows of one article: one
                break
        else:
            spans.append((passage, start, end))
    out = []
    for best, start, end in spans[:windows]:
        article = articles[best.source]
        text = article.text(start, end) if article else best.text
        if not text.strip():
            text, start, end = best.text, best.start, best.end
        out.append(replace(best, text=text, start=start, end=end))
    return out


def evidence(settings: Settings, store: Store, passages: list[Passage]) -> list[Passage]:
    """What the model reads for these retrieved passages: windows (``NEWSQA_EVIDENCE_WINDOWS`` > 0)
    or the passages themselves.

    Usage: ``evidence(settings, retriever.store, retriever.run(question))``
    """
    if settings.evidence_windows <= 0:
        return passages
    return read_windows(store, passages, settings.evidence_windows, settings.window_chars)

"""Stage 2 of ingestion: split article text into sentence-aligned chunks with character offsets.

Usage::

    from ingest.chunking import chunk_article, chunk_text, split_sentences
    split_sentences("Es kamen ca. 12.000 Soldaten. Das ist z. B. viel.")  # [(0, 29), (30, 49)]
    chunks = chunk_text(article.text, lambda s: len(s.split()), max_tokens=200)
    docs = chunk_article(article, count_tokens, settings)  # LangChain Documents for the index

Every chunk satisfies ``text[chunk.start:chunk.end] == chunk.text``, so a cited passage can be
located in ``Article.text`` exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

from langchain_core.documents import Document

# The sentence splitter lives in rag (answering needs it too); re-exported here for ingestion.
# SENTENCE: the sentence records' ``kind``, searched apart from passages.
from rag.text.sentences import CLOSERS as _CLOSERS
from rag.text.sentences import SENTENCE, is_sentence_record, split_sentences
from rag.text.sentences import skip_space as _skip_space

__all__ = ["Chunk", "CountTokens", "chunk_article", "chunk_text", "sentence_documents", "split_sentences"]

if TYPE_CHECKING:  # only for annotations: keeps this module importable without the settings
    from ingest.loading import Article
    from rag.settings import Settings

CountTokens = Callable[[str], int]

# --------------------------------------------------------------------------------------------
# Chunks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: ``text == article_text[start:end]``; ``index`` counts from 0.

    Usage: ``Chunk(text="Satz eins.", start=0, end=10, index=0)``
    """

    text: str
    start: int
    end: int
    index: int


@dataclass(frozen=True)
class _Unit:
    """A sentence, or a piece of a sentence too long for one chunk, with its token count."""

    start: int
    end: int
    tokens: int
    heading: bool


# Sub-headings are short whole lines without final punctuation ("USA sind alarmiert").
_MAX_HEADING_CHARS = 120
_SENTENCE_END_CHARS = ".!?…;"


def chunk_text(text: str, count_tokens: CountTokens, max_tokens: int, overlap_sentences: int = 1) -> list[Chunk]:
    """Pack whole sentences greedily into chunks of at most ``max_tokens`` tokens.

    Usage: ``chunk_text(article.text, lambda s: len(s.split()), max_tokens=200)``

    Neighbouring chunks share ``overlap_sentences`` sentences. A sentence longer than
    ``max_tokens`` is cut at word boundaries (at characters if it has no spaces). A sub-heading
    is moved to the chunk of the sentence it introduces. Token counts are taken per sentence
    and summed; each finished chunk is counted once more to guarantee the limit.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if overlap_sentences < 0:
        raise ValueError(f"overlap_sentences must be 0 or more, got {overlap_sentences}")
    # Tokenizers that add special tokens ([CLS] … [SEP]) count them in every call; remove that
    # constant from each sentence so the sum estimates the joined chunk.
    overhead = count_tokens("")
    units = _units(text, count_tokens, max_tokens)
    sums = [0, *accumulate(unit.tokens - overhead for unit in units)]

    def estimate(first: int, stop: int) -> int:
        return overhead + sums[stop] - sums[first]

    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        stop = first + 1
        while stop < len(units) and estimate(first, stop + 1) <= max_tokens:
            stop += 1
        while stop < len(units) and stop - first > 1 and units[stop - 1].heading:
            stop -= 1  # a sub-heading goes with the text it introduces
        start, end = units[first].start, units[stop - 1].end
        while stop - first > 1 and count_tokens(text[start:end]) > max_tokens:
            stop -= 1  # the estimate was low (tokens merged across the join); drop a sentence
            end = units[stop - 1].end
        chunks.append(Chunk(text=text[start:end], start=start, end=end, index=len(chunks)))
        if stop >= len(units):
            break
        next_first = max(stop - overlap_sentences, first + 1)
        while next_first < stop and estimate(next_first, stop + 1) > max_tokens:
            next_first += 1  # less overlap, so the next chunk still has room for new text
        first = next_first
    return chunks


def _units(text: str, count_tokens: CountTokens, max_tokens: int) -> list[_Unit]:
    units: list[_Unit] = []
    for start, end in split_sentences(text):
        tokens = count_tokens(text[start:end])
        if tokens <= max_tokens:
            units.append(_Unit(start, end, tokens, _is_heading(text, start, end)))
            continue
        for piece_start, piece_end, piece_tokens in _split_long(text, start, end, count_tokens, max_tokens, tokens):
            units.append(_Unit(piece_start, piece_end, piece_tokens, heading=False))
    return units


def _is_heading(text: str, start: int, end: int) -> bool:
    """A short line of its own that does not end like a sentence."""
    if end - start > _MAX_HEADING_CHARS:
        return False
    last = text[start:end].rstrip(_CLOSERS)[-1:]
    if not last or last in _SENTENCE_END_CHARS:
        return False
    # Only the last sentence of a line can lack final punctuation, so these scans stay linear.
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return not text[line_start:start].strip() and not text[end:line_end].strip()


def _split_long(
    text: str, start: int, end: int, count_tokens: CountTokens, max_tokens: int, total_tokens: int
) -> list[tuple[int, int, int]]:
    """Cut an over-long sentence into ``(start, end, tokens)`` pieces of at most ``max_tokens``.

    Counting every word would be slow on a 2 MB line, so piece lengths are guessed from the
    characters-per-token ratio and corrected by counting the guessed piece.
    """
    pieces: list[tuple[int, int, int]] = []
    chars_per_token = (end - start) / max(total_tokens, 1)
    pos = start
    while pos < end:
        guess = max(1, int(max_tokens * chars_per_token * 0.95))
        if end - pos <= guess:
            tokens = count_tokens(text[pos:end])
            if tokens <= max_tokens:
                pieces.append((pos, end, tokens))
                break
        cut, tokens = _fit_piece(text, pos, end, count_tokens, max_tokens, guess)
        pieces.append((pos, cut, tokens))
        chars_per_token = (cut - pos) / max(tokens, 1)
        pos = _skip_space(text, cut, end)
    return pieces


def _fit_piece(
    text: str, pos: int, end: int, count_tokens: CountTokens, max_tokens: int, guess: int
) -> tuple[int, int]:
    """A long prefix of ``text[pos:end]`` ending at a word boundary with at most ``max_tokens``.

    Returns ``(cut, tokens)``. Grows or shrinks the guess proportionally a few times, then
    halves until something fits.
    """
    best: tuple[int, int] | None = None
    limit = min(end, pos + guess)
    for _ in range(6):
        cut = _word_cut(text, pos, limit, end)
        tokens = count_tokens(text[pos:cut])
        if tokens <= max_tokens:
            if best is None or cut > best[0]:
                best = (cut, tokens)
            if tokens >= 0.9 * max_tokens or cut >= end:
                break
            grown = pos + int((cut - pos) * max_tokens / max(tokens, 1) * 0.97)
            if grown <= limit:
                break
            limit = min(end, grown)
        else:
            limit = pos + max(1, int((cut - pos) * max_tokens / tokens * 0.9))
    while best is None:
        limit = pos + max(1, (limit - pos) // 2)
        cut = _word_cut(text, pos, limit, end)
        tokens = count_tokens(text[pos:cut])
        if tokens <= max_tokens:
            best = (cut, tokens)
        elif cut - pos <= 1:
            raise ValueError(
                f"cannot chunk: the single character {text[pos]!r} at offset {pos} counts as "
                f"{tokens} tokens, more than max_tokens={max_tokens}"
            )
    return best


def _word_cut(text: str, pos: int, limit: int, end: int) -> int:
    """End of the last whole word in ``text[pos:limit]``; ``limit`` itself if it has no space."""
    if limit >= end:
        return end
    if text[limit].isspace():
        cut = limit
    else:
        space = max(text.rfind(char, pos + 1, limit) for char in " \t\u00a0")
        cut = space if space > pos else limit  # one huge "word": cut between characters
    while cut > pos + 1 and text[cut - 1].isspace():
        cut -= 1
    return cut


# --------------------------------------------------------------------------------------------
# Articles to LangChain documents
# --------------------------------------------------------------------------------------------


def chunk_article(article: Article, count_tokens: CountTokens, settings: Settings) -> list[Document]:
    """Chunk an article into LangChain Documents whose metadata cites the exact passage.

    Usage: ``docs = chunk_article(article, count_tokens, get_settings())``

    Metadata: ``source``, ``name``, ``title``, ``url`` and ``date`` (omitted when unknown:
    Chroma accepts no None), ``start``/``end`` (offsets into ``article.text``), ``chunk``, and for
    PDF and DOCX articles the ``page`` or ``paragraph`` (1-based) the passage starts in and the one it
    ends in (``page_end``, ``paragraph_end``).
    """
    base: dict[str, str | int] = {
        "source": article.source,
        "name": article.name,
        "title": article.title,
    }
    if article.url is not None:
        base["url"] = article.url
    if article.date is not None:
        base["date"] = article.date
    chunks = chunk_text(article.text, count_tokens, settings.chunk_tokens, settings.chunk_overlap_sentences)
    return [
        Document(
            page_content=chunk.text,
            metadata={**base, "start": chunk.start, "end": chunk.end, "chunk": chunk.index, **_part(article, chunk)},
        )
        for chunk in chunks
    ]


def _part(article: Article, chunk: Chunk) -> dict[str, int]:
    """``{"page": 3, "page_end": 4}`` (PDF) or ``{"paragraph": 12, ...}`` (DOCX): the parts the chunk spans.

    ``{}`` for formats without pages or paragraphs.
    """
    if not article.part_kind:
        return {}
    first = article.part_at(chunk.start) or 1
    last = article.part_at(max(chunk.start, chunk.end - 1)) or first
    return {article.part_kind: first, f"{article.part_kind}_end": last}


#: Metadata that places one passage; a sentence record has its own offsets.
_PASSAGE_ONLY = ("start", "end", "chunk", "page", "page_end", "paragraph", "paragraph_end")


def sentence_documents(article: Article, passages: list[Document]) -> list[Document]:
    """One record per sentence of the article, with the passages' metadata and ``kind="sentence"``.

    Usage: ``docs = chunks + sentence_documents(article, chunks)``

    The retriever lifts a passage by its best-matching sentence: a 100-token passage holds several
    facts, and its one vector is a blur of them all. Sentences that are a whole passage by
    themselves are kept too: a passage's lift must not depend on how it was cut. Sentences too short
    or too long are left out (they add nothing, or nothing sentence-like).
    """
    if not passages:
        return []
    base = {k: v for k, v in passages[0].metadata.items() if k not in _PASSAGE_ONLY}
    out = []
    for start, end in split_sentences(article.text):
        text = article.text[start:end]
        if not is_sentence_record(text):
            continue
        out.append(Document(page_content=text, metadata={**base, "start": start, "end": end, "kind": SENTENCE}))
    return out

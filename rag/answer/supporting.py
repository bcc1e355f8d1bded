"""Supporting sentences: which sentence of a cited passage backs a claim of the answer.

A reader checking "10,000 to 12,000 soldiers [1]" should not have to read all of passage 1: the
chat highlights the one sentence that holds the cited number (or, for an answer without numbers,
shares the most words with it).

Usage::

    from rag.answer.supporting import claim_for, supporting_span
    claim = claim_for("10,000 to 12,000 soldiers [1], Kursk [2]", 1)   # "10,000 to 12,000 soldiers"
    start, end = supporting_span(claim, passage_text)                   # offsets in passage_text
"""

from __future__ import annotations

import re

from rag.text.markers import MARKER
from rag.text.numbers import support_score
from rag.text.sentences import split_sentences


def sentence_with(quote: str, passage: str) -> tuple[int, int] | None:
    """Offsets of the sentence(s) of ``passage`` that hold ``quote`` word for word (spacing aside); None if none.

    Usage: ``sentence_with("Bis zu 12.000", passage_text)``
    """
    words = quote.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    found = pattern.search(passage)
    if not found:
        return None
    # A quote across a line break spans two "sentences" of the splitter: take them both.
    touched = [(s, e) for s, e in split_sentences(passage) if s < found.end() and found.start() < e]
    return (touched[0][0], touched[-1][1]) if touched else None


def claim_for(answer: str, n: int) -> str:
    """The part of ``answer`` that citation ``[n]`` vouches for: the text since the previous marker.

    Falls back to the whole answer (without markers) when that part is empty, e.g. for
    ``"Kursk [1][2]"`` and ``n=2``.
    """
    previous_end = 0
    for match in MARKER.finditer(answer):
        numbers = [int(part) for part in match.group(1).split(",")]
        if n in numbers:
            claim = MARKER.sub(" ", answer[previous_end : match.start()]).strip(" ,;")
            if claim:
                return claim
            break
        previous_end = match.end()
    return MARKER.sub(" ", answer).strip()


def supporting_span(claim: str, passage: str) -> tuple[int, int] | None:
    """Offsets of the sentence of ``passage`` that best supports ``claim``; None if none shares anything.

    Ties go to the earlier sentence.
    """
    best: tuple[float, tuple[int, int]] | None = None
    for start, end in split_sentences(passage):
        score = support_score(claim, passage[start:end])
        if score > 0 and (best is None or score > best[0]):
            best = (score, (start, end))
    return best[1] if best else None

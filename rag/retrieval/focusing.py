"""Focusing: each retrieved passage's sentence nearest the question, from sentences encoded on their own.

Usage::

    passages, best = refocus(passages, embeddings.embed_query(question), embeddings)
    passages[0].focus_start, passages[0].focus_end  # article offsets of its nearest sentence

With one encoder pass at ingestion (``NEWSQA_POOLING=sentences``) a sentence record's vector is pooled
inside its passage and carries the passage's context, so two sentences of one passage look alike and
the nearest record is often a neighbour of the sentence that answers (measured: docs/quality.md, "One
encoder pass"). The paragraph reader cuts its evidence around that focus, so a moved focus moves the
evidence. Re-encoding the few sentences of the passages the model may read (``top_k`` of them, a few
hundred tokens a question) gives the focus of an index whose sentences were encoded alone, at a
fraction of what encoding every sentence at ingestion costs; the instant answer reads the same
vectors (``PassageEmbeddings.embed_alone`` keeps them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol, TypeVar

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.text.sentences import is_sentence_record, split_sentences


class _Focused(Protocol):
    # What a retrieved passage (rag.retrieval.retrieving.Passage, a dataclass) offers here; a Protocol
    # because the retriever calls this module.
    text: str
    start: int
    focus_start: int | None
    focus_end: int | None


P = TypeVar("P", bound=_Focused)


def sentences_pooled(embeddings: Embeddings) -> bool:
    """Whether the index's sentence records are pooled inside their passages, so that retrieval must
    find each passage's focus again from its sentences on their own.

    Usage: ``if sentences_pooled(store.embeddings): passages, best = refocus(...)``
    """
    return getattr(embeddings, "pooling", "off") == "sentences" and hasattr(embeddings, "embed_alone")


def refocus(
    passages: Sequence[P], query: Sequence[float], embeddings: Embeddings, nearest: Sequence[str] = ()
) -> tuple[list[P], float | None]:
    """``passages``, each focused on its sentence nearest ``query`` (a question's vector), and the
    highest similarity of a sentence on its own among theirs and ``nearest`` (``None`` when there is
    none).

    A sentence is a candidate when ingestion would give it a record (:func:`is_sentence_record`); a
    passage without one keeps the focus it had. ``nearest``, the texts of the sentence records the
    dense search found nearest, only count for the highest similarity: the answerability gate was
    calibrated on the nearest sentence record of the whole index, which may lie in a passage the
    fusion left out.
    """
    spans = [[(s, e) for s, e in split_sentences(p.text) if is_sentence_record(p.text[s:e])] for p in passages]
    texts = [p.text[s:e] for p, ps in zip(passages, spans) for s, e in ps]
    if not texts and not nearest:
        return list(passages), None
    vectors = np.asarray(embeddings.embed_alone([*texts, *nearest]), dtype=np.float32)  # type: ignore[attr-defined]
    scores = vectors @ np.asarray(query, dtype=np.float32)
    out: list[P] = []
    seen = 0
    for passage, ps in zip(passages, spans):
        if not ps:
            out.append(passage)
            continue
        mine = scores[seen : seen + len(ps)]
        start, end = ps[int(np.argmax(mine))]
        seen += len(ps)
        out.append(replace(passage, focus_start=passage.start + start, focus_end=passage.start + end))
    return out, float(scores.max())

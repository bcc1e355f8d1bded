"""Keyword search: BM25 over the indexed passages, for fusing with the dense search.

Usage::

    index = KeywordIndex.build(ids, texts, sources)
    index.search("Wie viele Punkte gab die Verteidigung ab?", k=20)   # [(id, score), ...] best first
    index.search(question, k=20, sources={"/corpus/a.txt"})           # only passages of these articles

Dense retrieval finds passages that *mean* the question; BM25 finds those that share its rare
words (names, numbers, compounds), which is where a small multilingual embedder is weakest. It only
helps when the question is in the passages' language (measured on XQuAD: German questions over the
German articles hit@1 0.926 -> 0.938 fused; English questions blind 0.370 alone), so the retriever
uses it for those questions only. Written here rather than taking LangChain's ``BM25Retriever``:
that one needs the ``rank_bm25`` package and knows no German suffixes; this is numpy and ~80 lines,
and the light stemming below measured +1.4 points hit@1 over plain words on German questions.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"\w+")
# Inflection endings stripped from longer words ("Soldaten" and "Soldat" meet), longest first.
_SUFFIXES = ("ungen", "ung", "en", "er", "es", "em", "e", "n", "s")


def terms(text: str) -> list[str]:
    """The words of ``text`` as BM25 counts them: lower case, light suffix stemming, no 1-letter words."""
    out = []
    for word in _WORD.findall(text.lower()):
        if len(word) < 2:
            continue
        if len(word) > 4 and not word.isdigit():
            for suffix in _SUFFIXES:
                if word.endswith(suffix):
                    word = word[: -len(suffix)]
                    break
        out.append(word)
    return out


@dataclass
class KeywordIndex:
    """An in-memory BM25 (Okapi, k1=1.2, b=0.75) index over passages, keyed by the store's ids."""

    ids: list[str]
    sources: list[str]  # the article of each passage, for the "only these articles" filter
    postings: dict[str, tuple[np.ndarray, np.ndarray]]  # term -> (passage rows, term counts)
    lengths: np.ndarray
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def build(cls, ids: list[str], texts: list[str], sources: list[str]) -> KeywordIndex:
        if not len(ids) == len(texts) == len(sources):
            raise ValueError(f"{len(ids)} ids, {len(texts)} texts and {len(sources)} sources must match")
        rows: dict[str, list[int]] = {}
        counts: dict[str, list[int]] = {}
        lengths = np.zeros(len(texts), dtype=np.float32)
        for row, text in enumerate(texts):
            words = terms(text)
            lengths[row] = len(words)
            for term, count in Counter(words).items():
                rows.setdefault(term, []).append(row)
                counts.setdefault(term, []).append(count)
        postings = {t: (np.array(rows[t], dtype=np.int32), np.array(counts[t], dtype=np.float32)) for t in rows}
        return cls(list(ids), list(sources), postings, lengths)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, k: int, sources: set[str] | None = None) -> list[tuple[str, float]]:
        """The ``k`` best passages for ``query`` (only of articles in ``sources``, if given), best first."""
        n = len(self.ids)
        if n == 0 or k < 1:
            return []
        scores = np.zeros(n, dtype=np.float32)
        norm = self.k1 * (1 - self.b + self.b * self.lengths / max(1.0, float(self.lengths.mean())))
        for term in set(terms(query)):
            if term not in self.postings:
                continue
            rows, tf = self.postings[term]
            idf = math.log(1 + (n - len(rows) + 0.5) / (len(rows) + 0.5))
            scores[rows] += idf * tf * (self.k1 + 1) / (tf + norm[rows])
        ranked = np.argsort(-scores, kind="stable")
        out: list[tuple[str, float]] = []
        for row in ranked:
            if scores[row] <= 0 or len(out) == k:
                break
            if sources is None or self.sources[row] in sources:
                out.append((self.ids[row], float(scores[row])))
        return out

"""Keyword search: BM25 over the indexed passages, for fusing with the dense search.

Usage::

    keyword_search(store, "Wie viele Punkte gab die Verteidigung ab?", k=20)   # [(id, score), ...] best first
    keyword_search(store, question, k=20, sources={"/corpus/a.txt"})           # only passages of these articles
    keyword_search(store, question, k=20, language="de")                       # a question known to be German

Dense retrieval finds passages that *mean* the question; BM25 finds those that share its rare
words (names, numbers, compounds), which is where a small multilingual embedder is weakest. It only
helps when the question is in the passages' language (measured on XQuAD: German questions over the
German articles hit@1 0.926 -> 0.938 fused; English questions blind 0.370 alone), so the retriever
uses it for those questions only.

The index is SQLite FTS5 or a PostgreSQL ``tsvector`` beside the record manager (:class:`rag.store.KeywordIndex`,
:class:`rag.store.PgKeywordIndex`), written by ingestion with every chunk, so a question reads only the
postings of its own words: nothing is built per process. Each index turns the question into its own
terms (``query_terms``): SQLite stems every language with German Snowball, PostgreSQL uses the
question's language's text-search configuration, as it did for the passages in that language.
"""

from __future__ import annotations

import math
from collections import Counter

from rag.store import Store

#: When words were left out, this many passages of the first pass are ranked again by BM25 over every
#: word of the question (their terms are read from the index): measured on XQuAD's German questions
#: with the budget scaled down to the same share of the index, the first pass alone lost 1.1 points of
#: hit@1 (0.9446 -> 0.9335, below dense search alone); see README "Scaling".
RERANKED = 100
K1, B = 1.2, 0.75  # BM25's constants, as FTS5's bm25() uses them


def keyword_search(
    store: Store, query: str, k: int, sources: set[str] | None = None, language: str | None = None
) -> list[tuple[str, float]]:
    """The ``k`` best passages for ``query`` by BM25 (only of articles in ``sources``, if given), best first;
    ``language``: the question's, when the caller knows it (else detected where the index needs it).

    The question's words are taken rarest first while the passages holding them add up to at most the
    index's ``posting_budget`` (the rarest word always): a small index is ranked by every word, which is
    exact BM25; in a big one the common words ("die", "wurde") are left out of this first pass, which
    bounds its work whatever the size."""
    counts = store.keywords.frequencies(sorted(set(store.keywords.query_terms(query, language))))
    budget = store.keywords.posting_budget
    first, postings = [], 0
    for word in sorted(counts, key=lambda w: (counts[w], w)):
        if first and postings + counts[word] > budget:
            break
        first.append(word)
        postings += counts[word]
    if len(first) == len(counts):
        return store.keywords.search(first, k, sources)
    candidates = [key for key, _ in store.keywords.search(first, max(k, RERANKED), sources)]
    return bm25(store, candidates, counts)[:k]


def bm25(store: Store, ids: list[str], counts: dict[str, int]) -> list[tuple[str, float]]:
    """These passages ranked by BM25 over the words in ``counts`` (word -> passages holding it), best first."""
    passages, total = store.keywords.stats()
    average = total / max(passages, 1)
    # FTS5's idf: never below a tiny positive weight, so a word in most passages still counts a little.
    idf = {w: max(math.log((passages - n + 0.5) / (n + 0.5)), 1e-6) for w, n in counts.items()}
    scored = []
    for key, words in store.keywords.terms_of(ids).items():
        tf = Counter(w for w in words if w in idf)
        norm = K1 * (1 - B + B * len(words) / average)
        scored.append((key, sum(idf[w] * f * (K1 + 1) / (f + norm) for w, f in tf.items())))
    return sorted(scored, key=lambda pair: -pair[1])

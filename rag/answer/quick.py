"""The instant answer: the one sentence of the retrieved passages that most likely states the fact.

Shown as soon as retrieval returns, while the LLM is still writing its answer. It is the sentence of
the best passage most similar to the question (same e5 model, query vs. passage embedding); for a
question that asks for a number ("how many", "wie viele", "when", …) it is the most similar sentence
that holds a number, taken from the best passage that has one. No LLM, so it costs one small
embedding batch (a few ms to a few tens of ms on two cores).

Usage::

    from rag.answer.quick import quick_answer
    quick = quick_answer("how many soldiers?", passages, embeddings, threshold=0.75)
    if quick:
        quick.text, quick.passage, passages[quick.passage - 1].text[quick.start:quick.end]
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from langchain_core.embeddings import Embeddings

from rag.models.embedding import PassageEmbeddings
from rag.retrieval.retrieving import Passage
from rag.text.sentences import CLOSERS, split_sentences
from rag.text.terms import terms

# Questions whose answer is a count or an amount (English and German): the sentence must hold a number.
_NUMBER_QUESTION = re.compile(
    r"\b(?:how\s+(?:many|much|often|long|old|far|big|large|high|tall|heavy|expensive)|"
    r"what\s+(?:percentage|percent|number|proportion|share|amount|age)|which\s+percentage|number\s+of|"
    r"wie\s*(?:viele?|oft|lange|alt|weit|gro(?:ß|ss)|hoch|teuer|schwer|schnell)|"
    r"welche[rsmn]?\s+(?:anteil|prozentsatz|zahl|betrag|summe|alter)|anzahl)\b",
    re.IGNORECASE,
)
# Questions about a time: a sentence with a number (a year, a date) is likely, not certain
# ("nach Beginn des Krieges"), so numbers only tip the balance.
_TIME_QUESTION = re.compile(
    r"\b(?:when|what\s+(?:year|date|time)|which\s+(?:year|date)|in\s+(?:what|which)\s+year|"
    r"wann|seit\s+wann|bis\s+wann|welche[rsmn]?\s+(?:jahr|datum|zeit)|in\s+welchem\s+jahr)\b",
    re.IGNORECASE,
)
_TIME_BONUS = 0.02
# A sentence that repeats the question's own content words (stemmed, 4+ letters) is lifted by this
# share of them: e5 alone ranks a sentence on the topic above the one naming what was asked. The
# instant answer held the gold answer for 632 dev questions EN 0.6725 -> 0.6741, DE 0.7373 -> 0.7579
# (0.03: 0.6741 / 0.7516; 0.2: 0.6709 / 0.7563; 0.4: 0.6646 / 0.7579; docs/quality.md, issue 22).
KEYWORD_WEIGHT = 0.1

# A number in a sentence: digits, or a number word (German compounds like "zweihundert",
# "Tausende" included; short words only as whole words, so "Nacht" does not count as "acht").
_NUMBER_IN_TEXT = re.compile(
    r"\d|hundert|tausend|million|milliard|billion|dutzend|prozent|percent|hundred|thousand|dozen|"
    r"\b(?:zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|dreißig|vierzig|"
    r"fünfzig|hälfte|drittel|viertel|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|half|third|quarter)\b",
    re.IGNORECASE,
)
#: Sentences read per question at most: bounds the embedding cost for very long passages.
MAX_CANDIDATES = 16


@dataclass(frozen=True)
class QuickAnswer:
    """One sentence of a retrieved passage, shown before the LLM's answer.

    ``passage`` numbers the passage from 1 as the LLM sees it (``[n]``); ``start``/``end`` are the
    sentence's offsets in that passage's text, ``source``/``title``/``path`` name its article, and
    ``score`` is the sentence's cosine similarity to the question.

    Usage: ``passages[q.passage - 1].text[q.start:q.end] == q.text``
    """

    text: str
    passage: int
    start: int
    end: int
    source: str
    title: str
    path: str
    score: float


def asks_for_number(question: str) -> bool:
    """Whether the question asks for a count, amount or date.

    Usage: ``asks_for_number("Wie viele Soldaten?")  # True``
    """
    return bool(_NUMBER_QUESTION.search(question))


def asks_for_time(question: str) -> bool:
    """Whether the question asks when something happened.

    Usage: ``asks_for_time("Wann wurde das Abkommen geschlossen?")  # True``
    """
    return bool(_TIME_QUESTION.search(question))


def has_number(sentence: str) -> bool:
    """Whether the sentence states a number (digits or a number word).

    Usage: ``has_number("Es kamen 12.000 Soldaten.")  # True``
    """
    return bool(_NUMBER_IN_TEXT.search(sentence))


@dataclass(frozen=True)
class _Candidate:
    passage: int  # 0-based index into the passages
    start: int
    end: int


def _is_statement(text: str) -> bool:
    # Headlines and sub-headings ("Neue Bahnstrecke eröffnet") end without punctuation and name
    # the topic, so they resemble every question about it; fragments of one or two words (a
    # dateline) state no fact either.
    return len(text.split()) >= 3 and text.rstrip(CLOSERS)[-1:] in ".!?…:;"


def _sentences(passage: Passage, index: int) -> list[_Candidate]:
    spans = split_sentences(passage.text)
    statements = [_Candidate(index, s, e) for s, e in spans if _is_statement(passage.text[s:e])]
    return statements or [_Candidate(index, s, e) for s, e in spans] or [_Candidate(index, 0, len(passage.text))]


def candidate_sentences(question: str, passages: Sequence[Passage]) -> list[_Candidate]:
    """The sentences the quick answer is chosen from: the best passage's, or for a number question
    the numeric sentences of the best passage that has any (all of the best passage's if none has)."""
    best = _sentences(passages[0], 0)
    if not asks_for_number(question):
        return best[:MAX_CANDIDATES]
    for index, passage in enumerate(passages):
        sentences = best if index == 0 else _sentences(passage, index)
        numeric = [c for c in sentences if has_number(passage.text[c.start : c.end])]
        if numeric:
            return numeric[:MAX_CANDIDATES]
    return best[:MAX_CANDIDATES]


def shared_words(question: str, sentence: str) -> float:
    """The share of the question's content words (stemmed, 4+ letters, no numbers) the sentence holds.

    Usage: ``shared_words("Wie viele Lawinen gingen ab?", "Drei Lawinen gingen ab.")  # 0.67 (not "viele")``
    """
    asked = _content_words(question)
    return len(asked & set(terms(sentence))) / len(asked) if asked else 0.0


@lru_cache(maxsize=256)
def _content_words(question: str) -> frozenset[str]:
    # Asked once per candidate sentence of one question: stemmed once.
    return frozenset(t for t in terms(question) if len(t) >= 4 and not t.isdigit())


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def quick_answer(
    question: str, passages: Sequence[Passage], embeddings: Embeddings, *, threshold: float = 0.0
) -> QuickAnswer | None:
    """The single best sentence for ``question`` among ``passages`` (best first), or ``None``.

    ``None`` when there is no passage or the best passage scores below ``threshold`` (the answer
    will be a refusal, so no sentence should look like an answer).

    Usage: ``quick_answer("how many soldiers?", retriever.run("how many soldiers?"), embeddings)``
    """
    if not passages or passages[0].score < threshold:
        return None
    candidates = candidate_sentences(question, passages)
    texts = [passages[c.passage].text[c.start : c.end] for c in candidates]
    if len(candidates) == 1:
        scores = [passages[candidates[0].passage].score]
    else:
        query = embeddings.embed_query(question)
        # Each sentence on its own words: a sentence vector pooled inside its passage at ingestion
        # (NEWSQA_POOLING=sentences, kept in the encoder's cache) looks like its neighbours.
        alone = embeddings.embed_alone if isinstance(embeddings, PassageEmbeddings) else embeddings.embed_documents
        scores = [_cosine(query, vector) for vector in alone(texts)]
        scores = [s + KEYWORD_WEIGHT * shared_words(question, t) for s, t in zip(scores, texts)]
        if asks_for_time(question):
            scores = [s + (_TIME_BONUS if re.search(r"\d", t) else 0.0) for s, t in zip(scores, texts)]
    best = max(range(len(candidates)), key=lambda i: scores[i])
    chosen, passage = candidates[best], passages[candidates[best].passage]
    return QuickAnswer(
        text=texts[best],
        passage=chosen.passage + 1,
        start=chosen.start,
        end=chosen.end,
        source=passage.name,
        title=passage.title,
        path=passage.source,
        score=round(scores[best], 4),
    )

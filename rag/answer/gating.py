"""Answerability: whether the articles hold the answer to a question, decided before the LLM runs.

A question is answered when ``bias + w_sentence * sentence + w_spread * spread >= 0``: ``sentence`` is
the cosine of the nearest single sentence, ``spread`` how far the best passage stands out of the dense
ranks 10-20. The best cosine alone rises with the size of the collection (the best of more passages
is higher even for a question none of them answers: with 1,028 news articles beside the XQuAD ones
the old threshold refused a third as many unanswerable questions), the spread much less. Questions in
the articles' own language score higher against them than questions asked across languages (about
0.04 of cosine with e5), so each pair has its own three weights, fitted as a logistic model on
questions the articles can and cannot answer and shifted to a chosen false-refusal rate
(``newsqa calibrate``, docs/quality.md "Refusals"). A refused question never reaches the LLM.

Usage::

    gate = AnswerGate.from_settings(settings)
    decision = gate.run(retriever.search(question))
    decision.answerable, decision.logit, decision.signals.spread
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rag.retrieval.retrieving import Retrieval
from rag.settings import Settings

#: (bias, weight of the nearest sentence's cosine, weight of the best passage's spread).
Weights = tuple[float, float, float]
#: The dense ranks (from 0) whose mean cosine the best passage is compared with: the crowd, not the top.
TAIL = slice(9, 20)


@dataclass(frozen=True)
class Signals:
    """What retrieval measured about one question."""

    best: float  # cosine of the best passage retrieved
    sentence: float  # cosine of the nearest sentence
    spread: float  # best minus the mean cosine of the dense ranks 10-20 (the last rank when fewer)
    same_language: bool  # the question is in the language of the passages found

    @classmethod
    def of(cls, found: Retrieval) -> Signals:
        """The signals of one search. Usage: ``Signals.of(retriever.search(question))``"""
        best = max((p.score for p in found.passages), default=0.0)
        tail = found.dense_scores[TAIL] or found.dense_scores[-1:] or [best]
        same = found.passages_language is not None and found.question_language == found.passages_language
        return cls(best=best, sentence=found.best_sentence, spread=best - sum(tail) / len(tail), same_language=same)

    def to_json(self) -> dict[str, float | bool]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Decision:
    """The gate's verdict on one question."""

    answerable: bool
    logit: float  # > 0 answerable; its size is how sure
    signals: Signals


def logit(weights: Weights, signals: Signals) -> float:
    """The gate's score for these signals: answered when it is at least 0."""
    bias, w_sentence, w_spread = weights
    return bias + w_sentence * signals.sentence + w_spread * signals.spread


class AnswerGate:
    """Refuses questions whose retrieved passages do not look like they hold the answer."""

    def __init__(self, same_language: Weights, cross_language: Weights) -> None:
        """
        Args:
            same_language: weights for a question in the articles' language.
            cross_language: weights for a question in another language (English over German articles).
        """
        for name, weights in (("same_language", same_language), ("cross_language", cross_language)):
            if len(weights) != 3 or weights[1] < 0 or weights[2] < 0:
                raise ValueError(f"{name} must be (bias, w_sentence, w_spread) with weights >= 0, got {weights}")
        self.same_language = tuple(same_language)
        self.cross_language = tuple(cross_language)

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerGate:
        """The gate with the weights in ``settings`` (``NEWSQA_GATE_SAME_LANGUAGE`` / ``..._CROSS_LANGUAGE``)."""
        return cls(settings.gate_same_language, settings.gate_cross_language)

    def run(self, found: Retrieval) -> Decision:
        """Decide on one search's result; no passage at all is never answerable."""
        measured = Signals.of(found)
        weights = self.same_language if measured.same_language else self.cross_language
        score = logit(weights, measured)  # type: ignore[arg-type]
        return Decision(answerable=bool(found.passages) and score >= 0, logit=score, signals=measured)

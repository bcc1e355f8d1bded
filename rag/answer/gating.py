"""Answerability: whether the articles hold the answer to a question, decided before the LLM runs.

A question is answered when ``bias + w_best * best + w_sentence * sentence >= 0``: ``best`` is the
cosine of the best passage retrieved, ``sentence`` that of the nearest single sentence. Questions in
the articles' own language score higher against them than questions asked across languages (about
0.04 of cosine with e5), so each pair has its own three weights, fitted as a logistic model on
questions the articles can and cannot answer and shifted to a chosen false-refusal rate
(``newsqa calibrate``, docs/quality.md "Refusals"). A refused question never reaches the LLM.

Usage::

    gate = AnswerGate.from_settings(settings)
    decision = gate.run(retriever.search(question))
    decision.answerable, decision.logit, decision.signals.best
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rag.retrieval.retrieving import Retrieval
from rag.settings import Settings

#: (bias, weight of the best passage's cosine, weight of the best sentence's cosine).
Weights = tuple[float, float, float]


@dataclass(frozen=True)
class Signals:
    """What retrieval measured about one question."""

    best: float  # cosine of the best passage retrieved
    sentence: float  # cosine of the nearest sentence
    same_language: bool  # the question is in the language of the passages found

    @classmethod
    def of(cls, found: Retrieval) -> Signals:
        """The signals of one search. Usage: ``Signals.of(retriever.search(question))``"""
        best = max((p.score for p in found.passages), default=0.0)
        same = found.passages_language is not None and found.question_language == found.passages_language
        return cls(best=best, sentence=found.best_sentence, same_language=same)

    def to_json(self) -> dict[str, float | bool]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Decision:
    """The gate's verdict on one question."""

    answerable: bool
    logit: float  # > 0 answerable; its size is how sure
    signals: Signals


def logit(weights: Weights, best: float, sentence: float) -> float:
    """The gate's score for these cosines: answered when it is at least 0."""
    bias, w_best, w_sentence = weights
    return bias + w_best * best + w_sentence * sentence


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
                raise ValueError(f"{name} must be (bias, w_best, w_sentence) with weights >= 0, got {weights}")
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
        score = logit(weights, measured.best, measured.sentence)  # type: ignore[arg-type]
        return Decision(answerable=bool(found.passages) and score >= 0, logit=score, signals=measured)

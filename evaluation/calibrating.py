"""Calibrating the answerability gate: fit its weights on one half of a split, report them on the other.

``newsqa eval-split`` writes a corpus without half the question articles and, for two halves of the
articles, the questions it can and cannot answer (``calibration/`` and ``test/``). This module runs
retrieval on every question of both halves (no LLM), fits the gate's logistic model for questions in
the articles' own language and for questions across languages on the calibration half, shifts each
bias so that ``false_refusal`` of the calibration half's answerable questions are refused, and
reports true and false refusals on the test half at several such operating points.

Usage::

    newsqa eval-split --qa dev.jsonl --corpus xquad/corpus --out /tmp/split
    newsqa calibrate --split /tmp/split --false-refusal 0.03      # prints the curve and the settings
    result = calibrate(Path("/tmp/split"), get_settings(), false_refusal=0.03)
    result.weights["cross_language"], result.curve
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from evaluation.dataset import QAFileError, QAItem, XQuADItem, file_lang, load_qa
from evaluation.running import EvalSetupError, eval_index
from rag.answer.gating import AnswerGate, Signals, Weights, logit
from rag.settings import Settings

#: False-refusal rates (on the calibration half) at which the test half is reported.
CURVE = (0.01, 0.02, 0.03, 0.05, 0.08, 0.10, 0.15, 0.20)
GROUPS = ("same_language", "cross_language")


@dataclass(frozen=True)
class Measured:
    """One question's signals and whether the split's corpus can answer it."""

    lang: str
    answerable: bool
    signals: Signals

    @property
    def group(self) -> str:
        return "same_language" if self.signals.same_language else "cross_language"


@dataclass
class Calibration:
    """The fitted weights, the chosen operating point and the test half's refusal curve."""

    weights: dict[str, Weights]
    false_refusal: float
    # (group or question language, calibration false-refusal target, test false refusal, test true refusal)
    curve: list[tuple[str, float, float, float]] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def settings_lines(self) -> str:
        """The environment lines that put these weights into effect."""
        return "\n".join(
            f"NEWSQA_GATE_{group.upper()}=[{', '.join(f'{w:.3f}' for w in self.weights[group])}]" for group in GROUPS
        )

    def table(self) -> str:
        rows = [f"{'questions':<16} {'target':>7} {'false refusal':>14} {'true refusal':>13}"]
        rows += [f"{who:<16} {target:>7.2f} {false:>14.3f} {true:>13.3f}" for who, target, false, true in self.curve]
        return "\n".join(rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "weights": {g: [round(w, 4) for w in self.weights[g]] for g in GROUPS},
            "false_refusal": self.false_refusal,
            "counts": self.counts,
            "curve": [
                {"questions": who, "target": t, "false_refusal": round(f, 4), "true_refusal": round(r, 4)}
                for who, t, f, r in self.curve
            ],
        }


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 50) -> np.ndarray:
    """Logistic regression by Newton's method: ``[bias, w_1, ...]`` for rows ``x`` and 0/1 labels ``y``.

    Three parameters do not need scikit-learn; the small L2 term keeps a perfectly separable half finite.
    """
    design = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(design.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-design @ w))
        gradient = design.T @ (p - y) + l2 * w
        hessian = (design.T * (p * (1 - p))) @ design + l2 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def shifted(weights: Weights, answerable: list[Signals], false_refusal: float) -> Weights:
    """``weights`` with the bias moved so that ``false_refusal`` of these answerable questions score below 0."""
    scores = sorted(logit(weights, s) for s in answerable)
    cut = scores[min(int(math.floor(false_refusal * len(scores))), len(scores) - 1)]
    # A hair above the cut, so the question at it scores >= 0 after floating-point rounding too.
    return (weights[0] - cut + 1e-9, weights[1], weights[2])


def measure(split: Path, half: str, settings: Settings, show_bar: bool = True) -> list[Measured]:
    """Every question of ``split/half`` in every language its file offers, with its signals."""
    needed = [split / "corpus", split / half / "answerable.jsonl", split / half / "unanswerable.jsonl"]
    if not all(path.exists() for path in needed):
        raise QAFileError(f"{split} is not a split folder (no {half}/ halves): make one with `newsqa eval-split`")
    items: dict[bool, list[QAItem]] = {
        kind: load_qa(split / half / f"{'answerable' if kind else 'unanswerable'}.jsonl") for kind in (True, False)
    }
    every = items[True] + items[False]
    if not items[True] or not items[False]:
        raise QAFileError(f"{split / half} needs answerable and unanswerable questions: run `newsqa eval-split`")
    langs = ["en", "de"] if isinstance(every[0], XQuADItem) else [file_lang(every) or "en"]
    with eval_index(settings, split / "corpus", fresh=False, show_bar=show_bar) as local:
        from rag.models.embedding import get_embeddings
        from rag.retrieval.retrieving import build_retriever
        from rag.store import open_store

        retriever = build_retriever(local, open_store(local, get_embeddings(local)))
        jobs = [(lang, kind, item) for lang in langs for kind in (True, False) for item in items[kind]]
        return [
            Measured(lang, kind, Signals.of(retriever.search(item.question(lang))))
            for lang, kind, item in tqdm(jobs, desc=f"Retrieving ({half})", unit="q", disable=not show_bar)
        ]


def _rates(gate: AnswerGate, rows: list[Measured]) -> tuple[float, float]:
    def refused(row: Measured) -> bool:
        weights = gate.same_language if row.signals.same_language else gate.cross_language
        return logit(weights, row.signals) < 0  # type: ignore[arg-type]

    answerable = [refused(r) for r in rows if r.answerable]
    unanswerable = [refused(r) for r in rows if not r.answerable]
    return sum(answerable) / max(len(answerable), 1), sum(unanswerable) / max(len(unanswerable), 1)


def calibrate(split: Path, settings: Settings, false_refusal: float = 0.03, show_bar: bool = True) -> Calibration:
    """Fit the gate on ``split/calibration``, report it on ``split/test``; a group without questions of
    both kinds keeps the weights in ``settings``."""
    if not 0 <= false_refusal < 1:
        raise EvalSetupError(f"--false-refusal must be in [0, 1), got {false_refusal}")
    fitting = measure(split, "calibration", settings, show_bar)
    testing = measure(split, "test", settings, show_bar)
    current = {"same_language": settings.gate_same_language, "cross_language": settings.gate_cross_language}
    raw: dict[str, Weights] = {}
    counts: dict[str, dict[str, int]] = {}
    for group in GROUPS:
        rows = [r for r in fitting if r.group == group]
        counts[group] = {
            "answerable": sum(r.answerable for r in rows),
            "unanswerable": sum(not r.answerable for r in rows),
        }
        if min(counts[group].values()) == 0:
            raw[group] = current[group]
            continue
        x = np.array([[r.signals.sentence, r.signals.spread] for r in rows])
        w = fit_logistic(x, np.array([float(r.answerable) for r in rows]))
        raw[group] = (float(w[0]), max(float(w[1]), 0.0), max(float(w[2]), 0.0))

    def at(target: float) -> dict[str, Weights]:
        return {
            g: shifted(raw[g], [r.signals for r in fitting if r.group == g and r.answerable], target)
            if min(counts[g].values())
            else raw[g]
            for g in GROUPS
        }

    result = Calibration(weights=at(false_refusal), false_refusal=false_refusal, counts=counts)
    for target in sorted({*CURVE, false_refusal}):
        weights = at(target)
        gate = AnswerGate(weights["same_language"], weights["cross_language"])
        for lang in sorted({r.lang for r in testing}):
            false, true = _rates(gate, [r for r in testing if r.lang == lang])
            result.curve.append((f"{lang} questions", target, false, true))
    return result

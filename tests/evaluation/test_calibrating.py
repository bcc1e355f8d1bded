"""Calibrating the refusal gate: the fit itself, and `newsqa calibrate` on a real XQuAD split."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from evaluation.calibrating import calibrate, fit_logistic, shifted
from evaluation.dataset import load_qa, split_unanswerable
from rag.answer.gating import AnswerGate, Signals, logit
from rag.settings import Settings
from ui.cli import main


def test_the_fit_finds_the_direction_that_separates_the_two_kinds():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.7, 0.9, size=(400, 2))
    y = (x[:, 0] + x[:, 1] + rng.normal(0, 0.01, 400) > 1.6).astype(float)
    bias, w_best, w_sentence = fit_logistic(x, y)
    assert w_best > 0 and w_sentence > 0
    predicted = (bias + x @ np.array([w_best, w_sentence])) > 0
    assert (predicted == y.astype(bool)).mean() > 0.95


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.2])
def test_the_bias_is_shifted_to_refuse_that_share_of_answerable_questions(rate):
    draw = random.Random(1)
    answerable = [Signals(0.8, draw.uniform(0.75, 0.95), draw.uniform(0.0, 0.1), False) for _ in range(100)]
    weights = shifted((-50.0, 30.0, 30.0), answerable, rate)
    refused = sum(logit(weights, s) < 0 for s in answerable)
    assert refused == int(rate * 100)
    assert weights[1:] == (30.0, 30.0)


@pytest.fixture(scope="module")
def split(xquad, tmp_path_factory):
    """An eval-split of eight questions per XQuAD dev article (192 questions, 36 articles left)."""
    per_article: dict[str, int] = {}
    items = []
    for item in load_qa(xquad / "dev.jsonl"):
        per_article[item.doc_file] = per_article.get(item.doc_file, 0) + 1
        if per_article[item.doc_file] <= 8:
            items.append(item)
    out = tmp_path_factory.mktemp("calibrate-split")
    split_unanswerable(items, xquad / "corpus", out, seed=0)
    return out


def test_the_gate_fitted_on_one_half_refuses_the_other_halfs_unanswerable_questions(split, tmp_path, model_dir):
    settings = Settings(eval_dir=tmp_path / "eval", model_dir=model_dir)
    result = calibrate(split, settings, false_refusal=0.05, show_bar=False)
    assert set(result.weights) == {"same_language", "cross_language"}
    assert result.counts["same_language"]["unanswerable"] > 0 and result.counts["cross_language"]["answerable"] > 0
    at_target = {who: (false, true) for who, target, false, true in result.curve if target == 0.05}
    assert set(at_target) == {"en questions", "de questions"}
    for who, (false, true) in at_target.items():
        # Questions about articles the fit never saw: most unanswerable ones refused, few answerable ones.
        assert true >= 0.6 and false <= 0.25, (who, false, true)
    # Allowing more false refusals never refuses fewer questions.
    for who in at_target:
        curve = [(false, true) for w, _, false, true in sorted(result.curve, key=lambda r: r[1]) if w == who]
        assert all(a[1] <= b[1] for a, b in zip(curve, curve[1:])), curve


def test_newsqa_calibrate_prints_settings_that_the_settings_read_back(split, tmp_path, model_dir, capsys, monkeypatch):
    monkeypatch.setenv("NEWSQA_EVAL_DIR", str(tmp_path / "eval"))
    monkeypatch.setenv("NEWSQA_MODEL_DIR", str(model_dir))
    from rag.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["calibrate", "--split", str(split), "--quiet", "--false-refusal", "0.1"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "en questions" in out and "de questions" in out
    lines = dict(line.split("=", 1) for line in out.splitlines() if line.startswith("NEWSQA_GATE_"))
    assert set(lines) == {"NEWSQA_GATE_SAME_LANGUAGE", "NEWSQA_GATE_CROSS_LANGUAGE"}
    for name, value in lines.items():
        monkeypatch.setenv(name, value)
    gate = AnswerGate.from_settings(Settings())
    assert list(gate.cross_language) == pytest.approx(json.loads(lines["NEWSQA_GATE_CROSS_LANGUAGE"]))


def test_a_folder_without_the_halves_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "corpus").mkdir()
    assert main(["calibrate", "--split", str(tmp_path), "--quiet"]) == 2
    assert "newsqa eval-split" in capsys.readouterr().err

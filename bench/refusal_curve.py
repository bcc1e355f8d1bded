"""The refusal trade-off with the LLM included, at every operating point of the answerability gate.

The gate runs before the LLM, and a question it lets through gets the same answer whatever the gate's
bias, so one run of ``newsqa eval`` that lets (nearly) every question through to the LLM — the old
0.77 threshold, or a gate with a very low bias — tells, for every operating point: the question is
refused when the gate refuses it, else when the LLM refused it in that run. The gate's signals come
from ``bench/refusal_signals.py``; weights are fitted on the split's calibration half (as
``newsqa calibrate`` does) and the curve is read on the questions of the run (the test half). A
question the run did not send to the LLM but a loose gate would is counted apart (``unknown``).

Usage::

    newsqa eval --qa S/test/answerable.jsonl --corpus S/corpus --unanswerable S/test/unanswerable.jsonl \\
        --lang de --limit 60 --seed 0 --json --details /tmp/open_de.jsonl      # with a gate that refuses nothing
    python bench/refusal_signals.py --split S --out /tmp/signals.jsonl
    python bench/refusal_curve.py --split S --signals /tmp/signals.jsonl --details /tmp/open_de.jsonl --lang de
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from evaluation.calibrating import CURVE, fit_logistic, shifted  # noqa: E402
from evaluation.dataset import load_qa  # noqa: E402
from rag.answer.gating import Signals, logit  # noqa: E402


def signals_of(row: dict) -> Signals:
    return Signals(row["best"], row["sentence"], row["spread"], row["same_language"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=Path, required=True)
    parser.add_argument("--signals", type=Path, required=True, help="bench/refusal_signals.py --out")
    parser.add_argument("--details", type=Path, required=True, help="newsqa eval --details of an open run")
    parser.add_argument("--lang", required=True)
    parser.add_argument("--passed-above", type=float, default=0.77, help="the open run's threshold (best cosine)")
    args = parser.parse_args()

    signals = {(r["id"], r["lang"]): r for r in map(json.loads, args.signals.read_text().splitlines())}
    calibration = {
        i.id for kind in ("answerable", "unanswerable") for i in load_qa(args.split / "calibration" / f"{kind}.jsonl")
    }
    fitting = [r for (qid, lang), r in signals.items() if qid in calibration]
    run = [json.loads(line) for line in args.details.read_text().splitlines()]

    weights = {}
    for same in (True, False):
        rows = [r for r in fitting if r["same_language"] == same]
        w = fit_logistic(
            np.array([[r["sentence"], r["spread"]] for r in rows]), np.array([float(r["answerable"]) for r in rows])
        )
        weights[same] = (rows, (float(w[0]), float(w[1]), float(w[2])))

    print(f"{'target':>7} {'false refusal':>14} {'true refusal':>13} {'F1 answerable':>14} {'unknown':>8}")
    for target in (0.0, *CURVE, 0.30):
        refused = {True: [], False: []}
        f1s, unknown = [], 0
        for record in run:
            measured = signals[(record["id"], args.lang)]
            rows, raw = weights[measured["same_language"]]
            gate = shifted(raw, [signals_of(r) for r in rows if r["answerable"]], target)
            passes = logit(gate, signals_of(measured)) >= 0
            answerable = not record.get("unanswerable")
            if passes and measured["best"] < args.passed_above:
                unknown += 1  # the open run refused it without the LLM: its answer is not known
            is_refused = (not passes) or record["refused"]
            refused[answerable].append(is_refused)
            if answerable:
                f1s.append(0.0 if is_refused else record["f1"])
        print(
            f"{target:>7.2f} {statistics.fmean(refused[True]):>14.3f} {statistics.fmean(refused[False]):>13.3f} "
            f"{statistics.fmean(f1s):>14.3f} {unknown:>8}"
        )


if __name__ == "__main__":
    main()

"""Which measured signals tell answerable questions from unanswerable ones (issue 13), before the LLM.

Runs retrieval for every question of an ``newsqa eval-split`` folder (its answerable and unanswerable
files, in English and German) over the split corpus, writes one JSON line of signals per question,
and prints each signal's ROC AUC. Besides the two the gate uses (rag.answer.gating: the best passage's
and the best sentence's cosine) it measures candidates that were tried and not kept: how far the best
passage stands out of the dense ranks 10-20 (``spread``), the margin to the next article, and the
share of the question's rare words found in the passages (``coverage``). Not a test and not part of
the product.

Usage::

    newsqa eval-split --qa ../shared/data/xquad/dev.jsonl --corpus ../shared/data/xquad/corpus --out /tmp/split13
    python bench/refusal_signals.py --split /tmp/split13 --out /tmp/signals.jsonl [--folds 20 --false-refusal 0.05]
    python bench/refusal_signals.py --split /tmp/split13 --out /tmp/big.jsonl --index /tmp/bigidx   # + distractors
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.common import log  # noqa: E402
from evaluation.calibrating import fit_logistic  # noqa: E402
from evaluation.dataset import load_qa  # noqa: E402
from evaluation.running import eval_index  # noqa: E402
from rag.answer.gating import Signals  # noqa: E402
from rag.models.embedding import get_embeddings  # noqa: E402
from rag.retrieval.retrieving import Retrieval, build_retriever  # noqa: E402
from rag.settings import get_settings  # noqa: E402
from rag.store import Store  # noqa: E402
from rag.text.terms import terms  # noqa: E402


def candidates(question: str, found: Retrieval, store: Store) -> dict[str, float]:
    """The signals tried besides the gate's two."""
    scores, sources = found.dense_scores, found.dense_sources
    tail = scores[9:20] or scores[-1:] or [0.0]
    other = next((s for s, src in zip(scores, sources) if src != sources[0]), tail[-1]) if scores else 0.0
    words = set(terms(question))
    counts = store.keywords.frequencies(sorted(words))
    total = max(store.keywords.passage_count(), 1)
    weight = {w: math.log((total + 1) / (counts.get(w, 0) + 0.5)) for w in words}
    read = set(terms(" ".join(p.text for p in found.passages)))
    return {
        "margin": (scores[0] if scores else 0.0) - other,
        "coverage": sum(weight[w] for w in words & read) / max(sum(weight.values()), 1e-9),
    }


def auc(positive: list[float], negative: list[float]) -> float:
    """P(a random positive scores above a random negative), ties half."""
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / max(len(positive) * len(negative), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--langs", default="en,de")
    parser.add_argument("--fitted-on", type=Path, help="fit on this earlier --out's calibration half instead")
    parser.add_argument(
        "--index",
        type=Path,
        help="search this index instead of the split corpus's own, e.g. one that also holds 1,028 news "
        "articles as distractors: NEWSQA_INDEX_DIR=DIR newsqa ingest ../shared/data/news-10kgnad SPLIT/corpus",
    )
    parser.add_argument("--folds", type=int, default=20, help="random halves of the articles to fit and read on")
    parser.add_argument("--false-refusal", type=float, default=0.05, help="operating point on the fitted half")
    args = parser.parse_args()
    settings = get_settings()
    rows = []
    prebuilt = settings.model_copy(update={"index_dir": args.index}) if args.index else None
    with (
        contextlib.nullcontext(prebuilt)
        if prebuilt
        else eval_index(settings, args.split / "corpus", False, True) as local
    ):
        from rag.store import open_store

        store = open_store(local, get_embeddings(local))
        retriever = build_retriever(local, store)
        for lang in args.langs.split(","):
            for kind in ("answerable", "unanswerable"):
                items = load_qa(args.split / f"{kind}.jsonl", lang)
                log(f"{lang} {kind}: {len(items)} questions")
                for item in items:
                    question = item.question(lang)
                    found = retriever.search(question)
                    row = {"id": item.id, "doc": item.doc_file, "lang": lang, "answerable": kind == "answerable"}
                    row.update(Signals.of(found).to_json())
                    row.update({k: round(v, 4) for k, v in candidates(question, found, store).items()})
                    rows.append(row)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    names = [k for k, v in rows[0].items() if isinstance(v, float) and not isinstance(v, bool)]
    for lang in args.langs.split(","):
        mine = [r for r in rows if r["lang"] == lang]
        aucs = {
            n: auc([r[n] for r in mine if r["answerable"]], [r[n] for r in mine if not r["answerable"]]) for n in names
        }
        print(lang, "AUC", " ".join(f"{n}={a:.3f}" for n, a in aucs.items()))
    if args.fitted_on:  # fitted on the calibration half of another run, read on this run's test half
        fitted = [json.loads(line) for line in args.fitted_on.read_text().splitlines()]
        calibration = {
            i.id for k in ("answerable", "unanswerable") for i in load_qa(args.split / "calibration" / f"{k}.jsonl")
        }
        for lang in args.langs.split(","):
            for features in FEATURE_SETS:
                fit = [r for r in fitted if r["lang"] == lang and r["id"] in calibration]
                test = [r for r in rows if r["lang"] == lang and r["id"] not in calibration]
                false, true = read_on(fit, test, features, args.false_refusal)
                print(
                    f"{lang} {'+'.join(features):<40} fitted on {args.fitted_on.name}: refuses {true:.3f} / {false:.3f}"
                )
        return
    # Fitted on half of the articles (of each kind), read on the other half, over many such halves.
    for lang in args.langs.split(","):
        mine = [r for r in rows if r["lang"] == lang]
        for features in FEATURE_SETS:
            false, true = zip(*(held_out(mine, features, seed, args.false_refusal) for seed in range(args.folds)))
            print(
                f"{lang} {'+'.join(features):<40} refuses {statistics.fmean(true):.3f} of unanswerable, "
                f"{statistics.fmean(false):.3f} of answerable ({args.folds} halves, target {args.false_refusal})"
            )


FEATURE_SETS = [
    ("best",),
    ("sentence",),
    ("spread",),
    ("best", "sentence"),
    ("sentence", "spread"),
    ("best", "sentence", "spread"),
    ("best", "sentence", "coverage"),
    ("best", "sentence", "margin"),
    ("best", "sentence", "spread", "margin", "coverage"),
]


def held_out(rows: list[dict], features: tuple[str, ...], seed: int, rate: float) -> tuple[float, float]:
    """(false refusal, true refusal) on one half of the articles of a fit on the other half."""
    draw = random.Random(seed)
    fitting: set[str] = set()
    for kind in (True, False):
        docs = sorted({r["doc"] for r in rows if r["answerable"] == kind})
        fitting |= set(draw.sample(docs, len(docs) // 2))
    return read_on(
        [r for r in rows if r["doc"] in fitting], [r for r in rows if r["doc"] not in fitting], features, rate
    )


def read_on(fit: list[dict], test: list[dict], features: tuple[str, ...], rate: float) -> tuple[float, float]:
    """(false refusal, true refusal) on ``test`` of a fit on ``fit``, per language pair as the gate fits."""
    false: list[bool] = []
    true: list[bool] = []
    for same in (True, False):
        got = _pair(
            [r for r in fit if r["same_language"] == same],
            [r for r in test if r["same_language"] == same],
            features,
            rate,
        )
        false += got[0]
        true += got[1]
    return statistics.fmean(false or [0.0]), statistics.fmean(true or [0.0])


def _pair(fit: list[dict], test: list[dict], features: tuple[str, ...], rate: float) -> tuple[list[bool], list[bool]]:
    if not test or len({r["answerable"] for r in fit}) < 2:
        return [], []
    x = np.array([[r[f] for f in features] for r in fit])
    w = fit_logistic(x, np.array([float(r["answerable"]) for r in fit]))
    score = lambda r: w[0] + sum(wi * r[f] for wi, f in zip(w[1:], features))  # noqa: E731
    cut = sorted(score(r) for r in fit if r["answerable"])
    cut_at = cut[int(rate * len(cut))]
    return [score(r) < cut_at for r in test if r["answerable"]], [
        score(r) < cut_at for r in test if not r["answerable"]
    ]


if __name__ == "__main__":
    main()

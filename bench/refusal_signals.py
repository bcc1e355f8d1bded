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
    python bench/refusal_signals.py --split /tmp/split13 --out /tmp/signals.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log  # noqa: E402
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
    best = max((p.score for p in found.passages), default=0.0)
    tail = scores[9:20] or scores[-1:] or [0.0]
    other = next((s for s, src in zip(scores, sources) if src != sources[0]), tail[-1]) if scores else 0.0
    words = set(terms(question))
    counts = store.keywords.frequencies(sorted(words))
    total = max(store.keywords.passage_count(), 1)
    weight = {w: math.log((total + 1) / (counts.get(w, 0) + 0.5)) for w in words}
    read = set(terms(" ".join(p.text for p in found.passages)))
    return {
        "spread": best - statistics.fmean(tail),
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
    args = parser.parse_args()
    settings = get_settings()
    rows = []
    with eval_index(settings, args.split / "corpus", fresh=False, show_bar=True) as local:
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
                    row["dense"] = [round(s, 4) for s in found.dense_scores]
                    row["words"] = len(question.split())
                    rows.append(row)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    names = [k for k, v in rows[0].items() if isinstance(v, float) and not isinstance(v, bool)]
    for lang in args.langs.split(","):
        mine = [r for r in rows if r["lang"] == lang]
        aucs = {
            n: auc([r[n] for r in mine if r["answerable"]], [r[n] for r in mine if not r["answerable"]]) for n in names
        }
        print(lang, " ".join(f"{n}={a:.3f}" for n, a in aucs.items()))


if __name__ == "__main__":
    main()

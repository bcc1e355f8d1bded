"""Answer variants recomputed from the ``--details`` of a ``newsqa eval`` run, without the LLM.

Usage::

    .venv/bin/newsqa eval --qa ../shared/data/xquad/dev.jsonl --corpus ../shared/data/xquad/corpus \\
        --lang en --limit 40 --seed 0 --details /tmp/en40.jsonl
    .venv/bin/python bench/answer_details.py /tmp/en40.jsonl

For each answered question it scores, against the question's gold answers (F1) and every gold
answer (f1_any): the answer as given (the translated phrase), the article's own words alone (the
``quote``), and the translation with the article's term beside it ("rotating plates (rotierende
Scheiben)"). Refusals score 0 in every variant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluation.scoring import f1  # noqa: E402
from rag.text.markers import strip_markers  # noqa: E402


def variants(row: dict) -> dict[str, str]:
    if row["refused"]:
        return {"translated": "", "quote": "", "term beside": ""}
    text, quote = strip_markers(row["answer"]), row.get("quote", "")
    beside = f"{text} ({quote})" if quote and quote.casefold() != text.casefold() else text
    return {"translated": text, "quote": quote, "term beside": beside}


def main(paths: list[str]) -> None:
    for path in paths:
        rows = [r for r in map(json.loads, Path(path).read_text(encoding="utf-8").splitlines()) if "golds" in r]
        sums: dict[str, list[float]] = {}
        for row in rows:
            for name, text in variants(row).items():
                pair = sums.setdefault(name, [0.0, 0.0])
                pair[0] += f1(text, row["golds"])
                pair[1] += f1(text, row.get("all_golds", row["golds"]))
        n = len(rows)
        shown = {name: {"f1": round(a / n, 3), "f1_any": round(b / n, 3)} for name, (a, b) in sums.items()}
        print(json.dumps({"details": path, "questions": n, **shown}))


if __name__ == "__main__":
    main(sys.argv[1:])

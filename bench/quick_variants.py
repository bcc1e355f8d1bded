"""Instant-answer variants on the whole dev set, retrieval only (no LLM): which sentence holds the gold.

Usage::

    .venv/bin/python bench/quick_variants.py --lang en      # and --lang de

For every question it retrieves as ``newsqa eval`` does, embeds every sentence of what the model
reads once, and then scores sentence choices without re-embedding: today's rule
(:func:`rag.answer.quick.candidate_sentences` + cosine), the sentences of the best one, two or all
passages, a rank prior (``- prior x rank``) and a word-overlap bonus (``+ alpha x share of the
question's words, 5-letter stems, found in the sentence``). It also prints two ceilings: the best
sentence of today's candidates, and of everything the model reads.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluation.dataset import load_qa  # noqa: E402
from evaluation.gold import holds_gold  # noqa: E402
from evaluation.running import eval_index  # noqa: E402
from rag.answer.gating import AnswerGate  # noqa: E402
from rag.answer.quick import _is_statement, _sentences, asks_for_number, asks_for_time, candidate_sentences, has_number  # noqa: E402,E501
from rag.models.embedding import get_embeddings  # noqa: E402
from rag.retrieval.evidence import evidence  # noqa: E402
from rag.retrieval.retrieving import build_retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import open_store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STOP = set(
    "the a an of in on at to for and or is was were are did does do what which who whom whose when where why how many "
    "much with by from that this as be been has have had it its into than der die das ein eine einer eines und oder "
    "ist war waren sind hat haben wurde wurden wer wie was welche welcher welches wann wo warum viele im am an auf "
    "für von mit zu dem den des bei nach aus um".split()
)


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"\w+", text.lower()) if w not in STOP and len(w) > 2}


def _overlap(question: str, sentence: str) -> float:
    wanted = _stems(question)
    return len(wanted & _stems(sentence)) / len(wanted) if wanted else 0.0


def collect(lang: str, qa: Path, corpus: Path) -> list[dict | None]:
    """Per question: the sentences read, their cosine to the question, and which hold the gold."""
    rows: list[dict | None] = []
    with eval_index(Settings(), corpus, False, False) as local:
        embeddings = get_embeddings(local)
        store = open_store(local, embeddings)
        retriever = build_retriever(local, store)
        gate = AnswerGate.from_settings(local)
        for item in load_qa(qa, lang):
            question = item.question(lang)
            found = retriever.search(question)
            read = evidence(local, store, found.passages[: local.top_k])
            if not read or not gate.run(found).answerable:
                rows.append(None)  # no instant answer: the question is refused
                continue
            candidates = [c for i, p in enumerate(read) for c in _sentences(p, i)]
            texts = [read[c.passage].text[c.start : c.end] for c in candidates]
            query = embeddings.embed_query(question)
            vectors = embeddings.embed_documents(texts)
            norm = math.sqrt(sum(x * x for x in query))
            cosine = [sum(a * b for a, b in zip(query, v)) / (norm * math.sqrt(sum(b * b for b in v))) for v in vectors]
            today = {(c.passage, c.start) for c in candidate_sentences(question, read)}
            rows.append(
                {
                    "question": question,
                    "texts": texts,
                    "rank": [c.passage for c in candidates],
                    "cosine": cosine,
                    "holds": [holds_gold(t, item) for t in texts],
                    "today": [(c.passage, c.start) in today for c in candidates],
                }
            )
    return rows


def choose(row: dict, pool: str, prior: float, alpha: float) -> int | None:
    """The chosen sentence's index under one variant (today's filters for statements and numbers kept)."""
    q = row["question"]
    index = list(range(len(row["texts"])))
    if pool == "today":
        index = [i for i in index if row["today"][i]]
    elif pool != "all":
        index = [i for i in index if row["rank"][i] < int(pool)]
    index = [i for i in index if _is_statement(row["texts"][i])] or index
    if asks_for_number(q):
        index = [i for i in index if has_number(row["texts"][i])] or index
    if not index:
        return None

    def score(i: int) -> float:
        s = row["cosine"][i] + alpha * _overlap(q, row["texts"][i]) - prior * row["rank"][i]
        return s + (0.02 if asks_for_time(q) and re.search(r"\d", row["texts"][i]) else 0.0)

    return max(index, key=score)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="en")
    parser.add_argument("--qa", type=Path, default=ROOT.parent / "shared/data/xquad/dev.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/data/xquad/corpus")
    args = parser.parse_args()
    rows = collect(args.lang, args.qa, args.corpus)
    n = len(rows)
    kept = [r for r in rows if r is not None]
    print(f"{n} {args.lang} questions")
    print(
        f"ceiling, best of today's candidates: {sum(any(h for h, t in zip(r['holds'], r['today']) if t) for r in kept) / n:.3f}"
    )
    print(f"ceiling, best sentence of all read:  {sum(any(r['holds']) for r in kept) / n:.3f}")
    for pool in ("today", "1", "2", "all"):
        for prior in (0.0, 0.01, 0.02):
            for alpha in (0.0, 0.02, 0.05, 0.1):
                hits = sum(1 for r in kept if (i := choose(r, pool, prior, alpha)) is not None and r["holds"][i])
                print(f"pool={pool:5s} prior={prior:<4} alpha={alpha:<4} holds gold {hits / n:.3f}")


if __name__ == "__main__":
    main()

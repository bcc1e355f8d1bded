"""The scoring loops of an evaluation: retrieval figures, the gate's refusals, the answers' figures.

Usage::

    metrics.update(retrieval_figures(items, "en", ranker, spans, records, show_bar, local))
    metrics.update(gate_figures(unanswerable, "en", ranker, local, records))          # --retrieval-only
    metrics.update(answer_figures(items, unanswerable, False, "en", local, spans, records, show_bar))

Each loop asks every question as the product does (the same retriever, gate, evidence, instant answer
and answerer), scores it against :mod:`evaluation.gold` with :mod:`evaluation.scoring`, and appends a
record per question to ``records``. :func:`evaluation.running.evaluate` runs them on its index.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evaluation.dataset import QAItem
from evaluation.gold import GoldRetriever, GoldSpans, holds_gold
from evaluation.scoring import exact_match, f1, is_numeric, numeric_exact
from rag.answer.gating import AnswerGate
from rag.answer.quick import quick_answer
from rag.retrieval.evidence import evidence
from rag.retrieval.retrieving import Retriever, build_retriever
from rag.settings import Settings

#: How deep the ranking is scored (MRR@10).
RANK_DEPTH = 10


def rate(numerator: float, denominator: int) -> float | None:
    """``numerator / denominator`` to four places; None when there is nothing to divide by.

    Usage: ``rate(49, 50)  # 0.98``
    """
    return round(numerator / denominator, 4) if denominator else None


def percentile(values: list[float], q: int) -> float | None:
    """The ``q``-th percentile of ``values`` (milliseconds) to one place; None for no values.

    Usage: ``percentile(took, 95)``
    """
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def retrieval_figures(
    items: list[QAItem],
    lang: str | None,
    ranker: Retriever,
    spans: GoldSpans,
    records: list[dict[str, Any]],
    show_bar: bool,
    local: Settings,
) -> dict[str, Any]:
    """hit@1/4/10, MRR@10, what the model reads and the instant answer, over ``ranker``'s rankings.

    Appends one record per question to ``records`` (the ``--details`` lines).
    """
    top_k = local.top_k
    gate = AnswerGate.from_settings(local)
    hit1 = hit4 = hit10 = read_hits = first_read_hits = first_holds_answer = quick_hits = 0
    read_chars: list[int] = []
    reciprocal = 0.0
    took: list[float] = []
    for item in tqdm(items, desc="Retrieving", unit="q", disable=not show_bar, leave=False):
        start = time.perf_counter()
        found = ranker.search(item.question(lang))
        ranked = found.passages[:RANK_DEPTH]
        took.append((time.perf_counter() - start) * 1000)
        first = next((rank for rank, p in enumerate(ranked, start=1) if spans.is_hit(p, item)), None)
        hit1 += first == 1
        hit4 += first is not None and first <= 4
        hit10 += first is not None
        reciprocal += 1 / first if first else 0.0
        # What the model reads of them (the top_k passages, or windows around them).
        read = evidence(local, ranker.store, ranked[:top_k])
        read_hits += any(spans.is_read_hit(p, item) for p in read)
        first_read_hits += bool(read) and spans.is_read_hit(read[0], item)  # what a cascade reads first
        # Stricter: the first evidence is of the gold article and states the answer as the article writes it
        # (a passage half in the gold paragraph counts above even when the answer is in its other half).
        first_holds_answer += (
            bool(read) and Path(read[0].source).name == item.doc_file and (item.article_answer in read[0].text)
        )
        read_chars.append(sum(len(p.text) for p in read))
        # The instant answer shown before the LLM's (for a question the gate lets through, as in the
        # chat): does its sentence state the gold answer?
        decision = gate.run(dataclasses.replace(found, passages=ranked[:top_k]))
        quick = quick_answer(item.question(lang), read, ranker.store.embeddings) if decision.answerable else None
        quick_hits += quick is not None and holds_gold(quick.text, item)
        records.append(
            {
                "id": item.id,
                "question": item.question(lang),
                "first_hit": first,
                "best_score": round(max(p.score for p in ranked[:top_k]), 4) if ranked else None,
            }
        )
    n = len(items)
    return {
        "hit@1": rate(hit1, n),
        "hit@4": rate(hit4, n),
        "hit@10": rate(hit10, n),
        "mrr@10": rate(reciprocal, n),
        "read_hit": rate(read_hits, n),
        "first_evidence_holds_gold": rate(first_read_hits, n),
        "first_evidence_holds_answer": rate(first_holds_answer, n),
        "quick_holds_gold": rate(quick_hits, n),
        "read_chars_mean": round(statistics.fmean(read_chars), 1) if read_chars else None,
        "retrieve_ms_p50": percentile(took, 50),
        "retrieve_ms_p95": percentile(took, 95),
    }


def gate_figures(
    unanswerable: list[QAItem], lang: str | None, ranker: Retriever, local: Settings, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """Without the LLM, only the answerability gate refuses: how often it does on unanswerables."""
    if not unanswerable:
        return {}
    gate = AnswerGate.from_settings(local)
    retriever = build_retriever(local, ranker.store)
    below = 0
    for item in unanswerable:
        decision = gate.run(retriever.search(item.question(lang)))
        below += not decision.answerable
        records.append(
            {
                "id": item.id,
                "question": item.question(lang),
                "unanswerable": True,
                "best_score": round(decision.signals.best, 4),
                "gate_logit": round(decision.logit, 3),
            }
        )
    return {"unanswerable": len(unanswerable), "gate_refusal": rate(below, len(unanswerable))}


def answer_figures(
    items: list[QAItem],
    unanswerable: list[QAItem],
    gold_context: bool,
    lang: str | None,
    local: Settings,
    spans: GoldSpans,
    records: list[dict[str, Any]],
    show_bar: bool,
) -> dict[str, Any]:
    """Exact match, F1, citations and refusals of the chat's answerer (with the gold paragraph as its
    only passage when ``gold_context``), then its refusals of the ``unanswerable`` questions.

    Updates the questions' ``records`` (or adds them) with the answers.
    """
    from rag.answer.answering import build_answerer
    from rag.models.llm import warm_up

    answerer = build_answerer(local)
    gold: GoldRetriever | None = None
    if gold_context:
        gold = GoldRetriever(answerer.retriever, spans)
        answerer.retriever = gold
    warm_up(local)
    answerer.warm_up()  # the chat does this at start-up: the fixed prompt is not a question's cost
    em = f1_sum = f1_any_sum = 0.0
    numeric = numeric_right = cited_right = answered = refused = gated = 0
    took: list[float] = []
    first_token: list[float] = []
    read: list[int] = []  # evidences the model read per question it was asked (the cascade's depth)
    by_id = {r["id"]: r for r in records}
    for item in tqdm(items, desc="Answering", unit="q", disable=not show_bar, leave=False):
        if gold is not None:
            gold.current = item
        answer = answerer.ask(item.question(lang))
        took.append(answer.timings_ms.get("total", 0.0))
        if "first_token" in answer.timings_ms:  # refusals before the LLM have none
            first_token.append(answer.timings_ms["first_token"])
        if answer.evidences_read:
            read.append(answer.evidences_read)
        golds = item.golds(lang)
        text = "" if answer.refused else answer.answer
        score = f1(text, golds)
        cited_holds_gold = any(holds_gold(c.text, item) for c in answer.citations)
        em += exact_match(text, golds)
        f1_sum += score
        f1_any_sum += f1(text, item.all_golds)
        if is_numeric(golds):
            numeric += 1
            numeric_right += numeric_exact(text, golds)
        refused += answer.refused
        gated += answer.decision is not None and not answer.decision.answerable
        if not answer.refused:
            answered += 1
            cited_right += cited_holds_gold
        if item.id not in by_id:  # no retrieval pass before (--context gold)
            by_id[item.id] = {"id": item.id, "question": item.question(lang)}
            records.append(by_id[item.id])
        record = by_id[item.id]
        record.update(
            answer=answer.answer,
            quote=answer.quote,
            refused=answer.refused,
            golds=list(golds),
            all_golds=list(item.all_golds),
            f1=round(score, 3),
            cited=[c.n for c in answer.citations],
            cited_holds_gold=cited_holds_gold,
            ms=round(took[-1]),
            first_token_ms=round(answer.timings_ms["first_token"]) if "first_token" in answer.timings_ms else None,
            evidences_read=answer.evidences_read,
            gate=answer.to_json()["gate"],
        )
    n = len(items)
    out: dict[str, Any] = {
        "em": rate(em, n),
        "f1": rate(f1_sum, n),
        "f1_any": rate(f1_any_sum, n),
        "numeric": numeric,
        "numeric_exact": rate(numeric_right, numeric),
        "citation_accuracy": rate(cited_right, answered),
        "false_refusal": rate(refused, n),
        "false_refusal_gate": rate(gated, n),  # of those, refused by the gate before the LLM
        "true_refusal": None,
        "first_token_ms_p50": percentile(first_token, 50),
        "answer_ms_p50": percentile(took, 50),
        "answer_ms_p95": percentile(took, 95),
        "evidences_read_mean": round(statistics.fmean(read), 2) if read else None,
    }
    if unanswerable:
        right = by_gate = 0
        for item in tqdm(unanswerable, desc="Unanswerable", unit="q", disable=not show_bar, leave=False):
            answer = answerer.ask(item.question(lang))
            right += answer.refused
            by_gate += answer.decision is not None and not answer.decision.answerable
            records.append(
                {
                    "id": item.id,
                    "question": item.question(lang),
                    "unanswerable": True,
                    "answer": answer.answer,
                    "refused": answer.refused,
                    "evidences_read": answer.evidences_read,
                    "gate": answer.to_json()["gate"],
                }
            )
        out["unanswerable"] = len(unanswerable)
        out["true_refusal"] = rate(right, len(unanswerable))
        out["true_refusal_gate"] = rate(by_gate, len(unanswerable))
    return out

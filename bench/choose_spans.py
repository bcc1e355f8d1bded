"""Choosing instead of writing (issue 12, lever 4): candidate spans scored by the model's likelihood.

    .venv/bin/python bench/choose_spans.py [--lang en] [--limit 40] [--seed 0] [--sentences 3]
        [--out /tmp/choose.jsonl]

For each question of the same sample ``newsqa eval`` draws (XQuAD dev, ``--limit``/``--seed``), on the
same evaluation index, the product's answerer answers it as it does today (the model writes a short
phrase and its ``[n]``: the *baseline*, measured in the same run). Then, on the same passages:

1. **Candidates**: the ``--sentences`` sentences of the passages the model read most similar to the
   question (e5, as the instant answer ranks them) give spans: numbers made whole with their
   qualifier, range and scale (``rag.answer.completing``), alone and with the noun they count;
   dates; runs of capitalised words (names, German nouns) with their adjectives and genitives; each
   span at most eight words, as ``"<span> [n]"`` with the number of the passage it was taken from.
   Beside them the model's own free answer and ``NOT FOUND``.
2. **Scores**: each candidate's log-probability as the model's whole reply (end-of-turn token
   included) after the very prompt the answer uses (``rag.models.llm.continuation_logprobs``: the
   prompt is already in llama.cpp's cache after the free answer, so only the candidates cost).
3. **Variants**: the candidate with the highest sum (``sum``) or per-token mean (``mean``) of
   log-probabilities, among all candidates or without the free answer (``-nofree``); and ``mean``
   among the eight candidates with the likeliest first token (``mean-top8``: what pruning would
   cost). The chosen reply goes through the product's own finishing step (whole fact, translation,
   citation and number checks: ``Answerer._finish``), exactly like the free answer.

Prints one JSON object: per variant EM, F1, f1_any, numeric exact, citation accuracy, false
refusal, answer p50/p95 (baseline: measured; a variant without the free answer: retrieval + the
prompt's evaluation (time to the first token) + candidates + scoring + finishing; with it: the
baseline's generation + candidates + scoring + finishing). ``--out`` writes one line per question:
every candidate with its per-token log-probabilities, each variant's answer and score, the free
answer, the probability of ``NOT`` as the reply's first token (``p_not_found_first``) and the
chosen span's log-probability (signals for refusal calibration, issue 13). Not part of the product.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import XQUAD_CORPUS, XQUAD_DEV, log, median, percentile  # noqa: E402
from evaluation.dataset import load_qa, sample  # noqa: E402
from evaluation.gold import holds_gold  # noqa: E402
from evaluation.running import eval_index  # noqa: E402
from evaluation.scoring import exact_match, f1, is_numeric, numeric_exact  # noqa: E402
from rag.answer.answering import Answer, Answerer, Token, build_answerer, format_passages, is_refusal, model_text  # noqa: E402
from rag.answer.completing import whole_fact  # noqa: E402
from rag.answer.quick import _cosine  # noqa: E402
from rag.answer.spans import NOT_FOUND  # noqa: E402
from rag.models.llm import ScoredContinuation, continuation_logprobs, warm_up  # noqa: E402
from rag.retrieval.retrieving import Passage  # noqa: E402
from rag.settings import get_settings  # noqa: E402
from rag.text.sentences import split_sentences  # noqa: E402

MAX_WORDS = 8
_WORD = re.compile(r"\w+(?:[.,'’\-/]\w+)*%?")
# Capitalised words that start a sentence or a phrase without being a name or a noun.
_FUNCTION = frozenset(
    """
    der die das den dem des ein eine einen einem einer eines er sie es wir ihr ich du man im in am an
    auf aus bei mit nach von vor zu zum zur für über unter seit während als wenn dies diese dieser
    dieses diesem diesen doch aber und auch nur so da dort hier heute damals dann später jedoch zudem
    außerdem bereits noch sein seine ihre ihr unser alle viele einige mehrere beide jeder jede jedes
    nachdem obwohl weil dass ob wie wo wer was wann warum welche welcher welches the a an in on at of
    for by with it he she they this that these those his her their its there here when while after
    before however also but and or as from to its bis zu um
    """.split()
)
# Lower-case words that join two capitalised words inside one name: "Universität von Warschau".
_JOINERS = frozenset("von van de der des den du di da la le del und of the and y zu".split())
_GENITIVE = frozenset("der des".split())
_MONTHS = (
    r"Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|"
    r"January|February|March|May|June|July|October|December"
)
_DATE = re.compile(
    rf"(?<!\w)(?:\d{{1,2}}\.\s*)?(?:{_MONTHS})(?:\s+\d{{4}})?(?!\w)|(?<!\w)\d{{1,2}}\.\s?\d{{1,2}}\.\s?\d{{2,4}}(?!\w)"
)


@dataclass(frozen=True)
class Candidate:
    """A span of passage ``n`` (numbered from 1 as the model sees it) offered as the answer."""

    text: str
    n: int
    kind: str  # number, date, name, phrase, free, not_found

    @property
    def reply(self) -> str:
        if self.kind in ("free", "not_found"):
            return self.text
        return f"{self.text} [{self.n}]"


def _is_cap(word: str) -> bool:
    return word[:1].isupper() and word.casefold() not in _FUNCTION


def _is_adjective(word: str) -> bool:
    """A lower-case word that may qualify the noun after it (German endings; English: any lower word)."""
    w = word.casefold()
    if w in _FUNCTION or w in _JOINERS or not word[:1].islower() or any(ch.isdigit() for ch in w):
        return False
    return bool(re.search(r"(?:e|en|er|es|em|ische[nrsm]?|al|an|ic|ish|ed)$", w))


def _fold(text: str) -> str:
    return " ".join(text.split())


def sentence_spans(sentence: str) -> list[tuple[str, str]]:
    """``(span, kind)`` candidates from one sentence: numbers, dates, capitalised runs, noun phrases."""
    words = list(_WORD.finditer(sentence))
    out: list[tuple[str, str]] = []

    def add(i: int, j: int, kind: str) -> None:  # words i..j inclusive
        if 0 <= i <= j < len(words) and j - i < MAX_WORDS:
            out.append((_fold(sentence[words[i].start() : words[j].end()]), kind))

    for m in _DATE.finditer(sentence):
        out.append((_fold(m.group(0)), "date"))
    for w in words:
        if any(ch.isdigit() for ch in w.group(0)):
            whole = whole_fact(w.group(0), sentence[max(0, w.start() - 60) : w.end() + 60])
            out.append((whole, "number"))
            if whole != w.group(0):
                out.append((w.group(0), "number"))
            # The thing counted: "12.000 Soldaten", "12.000 nordkoreanische Soldaten".
            end = sentence.find(whole, max(0, w.start() - 60))
            after = [x for x in words if end >= 0 and x.start() >= end + len(whole)][:2]
            if after and _is_cap(after[0].group(0)):
                out.append((_fold(sentence[sentence.find(whole, max(0, w.start() - 60)) : after[0].end()]), "number"))
            elif len(after) == 2 and _is_adjective(after[0].group(0)) and _is_cap(after[1].group(0)):
                out.append((_fold(sentence[sentence.find(whole, max(0, w.start() - 60)) : after[1].end()]), "number"))
    # Runs of capitalised words, lower-case joiners allowed inside ("Ogród Saski", "Universität von Warschau").
    i = 0
    while i < len(words):
        if not _is_cap(words[i].group(0)) or any(ch.isdigit() for ch in words[i].group(0)):
            i += 1
            continue
        j = i
        parts = [i]  # where each joined part starts
        while j + 1 < len(words) and not sentence[words[j].end() : words[j + 1].start()].strip():
            nxt = words[j + 1].group(0)
            if _is_cap(nxt) and not any(ch.isdigit() for ch in nxt):
                j += 1
            elif (
                nxt.casefold() in _JOINERS
                and j + 2 < len(words)
                and _is_cap(words[j + 2].group(0))
                and not sentence[words[j + 1].end() : words[j + 2].start()].strip()
            ):
                parts.append(j + 2)
                j += 2
            else:
                break
        add(i, j, "name")
        if j > i:
            add(i, i, "name")
            add(j, j, "name")
            if _is_cap(words[j - 1].group(0)):
                add(j - 1, j, "name")
            for a, b in zip(parts, [*parts[1:], j + 2]):
                add(a, b - 2 if b <= j else j, "name")
        # Adjectives before the run: "rotierende Scheiben", "sächsischer Garten".
        k = i
        while k - 1 >= 0 and i - k < 2 and _is_adjective(words[k - 1].group(0)):
            k -= 1
            add(k, j, "phrase")
        # A genitive after it: "Ende des Krieges", "Universität der Künste".
        g = j + 1
        if g < len(words) and words[g].group(0).casefold() in _GENITIVE:
            h = g + 1
            while h < len(words) and _is_adjective(words[h].group(0)):
                h += 1
            if h < len(words) and _is_cap(words[h].group(0)):
                add(k, h, "phrase")
        i = j + 1
    return out


def best_sentences(
    question: str, passages: Sequence[Passage], embeddings: Any, count: int
) -> list[tuple[int, str, float]]:
    """The ``count`` sentences of the passages (as the model reads them) most similar to the question:
    ``(n, sentence, cosine)``, best first."""
    found: list[tuple[int, str]] = []
    for n, passage in enumerate(passages, start=1):
        text = model_text(passage)
        found += [(n, text[s:e]) for s, e in split_sentences(text) if len(text[s:e].split()) >= 3]
    if not found:
        return []
    query = embeddings.embed_query(question)
    vectors = embeddings.embed_documents([s for _, s in found])
    scored = [(n, s, _cosine(query, v)) for (n, s), v in zip(found, vectors)]
    return sorted(scored, key=lambda x: -x[2])[:count]


def candidates(
    question: str, passages: Sequence[Passage], embeddings: Any, count: int, free: str | None
) -> list[Candidate]:
    """The spans of the best sentences, the free answer (when it is one) and NOT FOUND; no duplicates."""
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for n, sentence, _ in best_sentences(question, passages, embeddings, count):
        for text, kind in sentence_spans(sentence):
            key = (text.casefold(), n)
            if text and key not in seen and len(text.split()) <= MAX_WORDS:
                seen.add(key)
                out.append(Candidate(text, n, kind))
    if free and not is_refusal(free):
        out.append(Candidate(free, 0, "free"))
    out.append(Candidate(NOT_FOUND, 0, "not_found"))
    return out


# --- choosing ---------------------------------------------------------------------------------


def choose(cands: list[Candidate], scored: list[ScoredContinuation], rule: str) -> int:
    """Index of the chosen candidate under ``rule`` (sum|mean, -nofree, -top8); ties: the first."""
    pool = [i for i in range(len(cands)) if scored[i].complete]
    if rule.endswith("-nofree"):
        pool = [i for i in pool if cands[i].kind != "free"]
    if rule.endswith("-top8"):
        pool = sorted(pool, key=lambda i: -scored[i].logprobs[0])[:8]
    by_mean = rule.startswith("mean")
    return max(pool, key=lambda i: (scored[i].mean if by_mean else scored[i].total, -i))


RULES = ("sum", "mean", "sum-nofree", "mean-nofree", "mean-top8")


def _first_line(raw: str) -> str:
    lines = [x for x in raw.strip().splitlines() if x.strip()]
    return lines[0].strip() if lines else ""


def _figures(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    n = len(rows)
    answered = [r for r in rows if not r[key]["refused"]]
    numeric = [r for r in rows if r["numeric"]]
    ms = [r[key]["ms"] for r in rows]
    return {
        "em": round(sum(r[key]["em"] for r in rows) / n, 4),
        "f1": round(sum(r[key]["f1"] for r in rows) / n, 4),
        "f1_any": round(sum(r[key]["f1_any"] for r in rows) / n, 4),
        "numeric_exact": round(sum(r[key]["numeric_exact"] for r in numeric) / len(numeric), 4) if numeric else None,
        "citation_accuracy": round(sum(r[key]["cited_holds_gold"] for r in answered) / len(answered), 4)
        if answered
        else None,
        "false_refusal": round(sum(r[key]["refused"] for r in rows) / n, 4),
        "answer_ms_p50": round(median(ms)),
        "answer_ms_p95": round(percentile(ms, 95)),
    }


def _score(answer: Answer, item: Any, lang: str, ms: float) -> dict[str, Any]:
    golds = item.golds(lang)
    text = "" if answer.refused else answer.answer
    return {
        "answer": answer.answer,
        "quote": answer.quote,
        "refused": answer.refused,
        "em": exact_match(text, golds),
        "f1": round(f1(text, golds), 3),
        "f1_any": round(f1(text, item.all_golds), 3),
        "numeric_exact": numeric_exact(text, golds) if is_numeric(golds) else None,
        "cited": [c.n for c in answer.citations],
        "cited_holds_gold": any(holds_gold(c.text, item) for c in answer.citations),
        "ms": round(ms),
    }


def run_question(answerer: Answerer, item: Any, lang: str, sentences: int, full: int | None) -> dict[str, Any]:
    question = item.question(lang)
    raw = ""
    final: Answer | None = None
    for event in answerer.stream(question):
        if isinstance(event, Token):
            raw += event.text
        elif isinstance(event, Answer):
            final = event
    assert final is not None
    timings = final.timings_ms
    record: dict[str, Any] = {
        "id": item.id,
        "question": question,
        "golds": list(item.golds(lang)),
        "numeric": is_numeric(item.golds(lang)),
        "free_raw": raw,
        "baseline": _score(final, item, lang, timings["total"]),
    }
    passages = final.passages
    gated = not passages or final.decision is None or not final.decision.answerable
    if gated:  # refused before the LLM: every variant refuses the same way
        for rule in RULES:
            record[rule] = record["baseline"]
        record["candidates"] = []
        return record
    started = time.perf_counter()
    free = _first_line(raw)
    cands = candidates(question, passages, answerer.retriever.store.embeddings, sentences, free)
    took_candidates = (time.perf_counter() - started) * 1000
    messages = answerer.prompt.format_messages(passages=format_passages(passages), question=question)
    started = time.perf_counter()
    scored = continuation_logprobs(answerer.chat_model, messages, [c.reply for c in cands], full=full)
    assert scored is not None, "choosing needs the local llama.cpp model"
    took_scoring = (time.perf_counter() - started) * 1000
    not_found = scored[-1]
    record["p_not_found_first"] = round(math.exp(not_found.logprobs[0]), 4)
    record["not_found_logprob"] = round(not_found.total, 3)
    record["candidate_ms"] = round(took_candidates)
    record["scoring_ms"] = round(took_scoring)
    record["candidates"] = [
        {
            "text": c.text,
            "n": c.n,
            "kind": c.kind,
            "tokens": len(s.tokens),
            "complete": s.complete,
            "logprobs": [round(x, 3) for x in s.logprobs],
            "total": round(s.total, 3),
            "mean": round(s.mean, 3),
            "f1_any": round(f1(c.text, item.all_golds), 3),
        }
        for c, s in zip(cands, scored)
    ]
    record["oracle_f1_any"] = max((c["f1_any"] for c in record["candidates"] if c["kind"] != "not_found"), default=0)
    # What a variant without the free answer costs: no generation, only the prompt's evaluation.
    prompt_ms = timings.get("first_token", timings["total"]) - timings.get("retrieve", 0.0)
    finished: dict[str, tuple[Answer, float]] = {}
    for rule in RULES:
        chosen = choose(cands, scored, rule)
        reply = cands[chosen].reply
        if reply not in finished:
            started = time.perf_counter()
            copy = {k: v for k, v in timings.items() if k not in ("translate",)}
            copy["total"] = 0.0
            answer = answerer._finish(question, reply, passages, final.language, copy)
            finished[reply] = (answer, (time.perf_counter() - started) * 1000)
        answer, took_finish = finished[reply]
        base = timings.get("retrieve", 0.0) + took_candidates + took_scoring + took_finish
        if rule.endswith("-nofree"):
            ms = base + prompt_ms
        else:
            ms = base + timings["total"] - timings.get("retrieve", 0.0) - timings.get("translate", 0.0)
        record[rule] = _score(answer, item, lang, ms)
        record[rule]["reply"] = reply
        record[rule]["kind"] = cands[chosen].kind
        record[rule]["logprob"] = round(scored[chosen].total, 3)
        record[rule]["mean_logprob"] = round(scored[chosen].mean, 3)
    return record


def analyse(path: Path) -> None:
    """Per question, where a variant's answer differs from the baseline's, and the F1 it gains or loses."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for rule in RULES:
        changed = [r for r in rows if r[rule]["answer"] != r["baseline"]["answer"]]
        gain = sum(r[rule]["f1"] - r["baseline"]["f1"] for r in changed)
        kinds: dict[str, int] = {}
        for r in rows:
            kinds[r[rule].get("kind", "gated")] = kinds.get(r[rule].get("kind", "gated"), 0) + 1
        print(f"== {rule}: {len(changed)} answers changed, F1 sum {gain:+.2f}; chosen kinds {kinds}")
        for r in changed:
            print(
                f"  {r[rule]['f1'] - r['baseline']['f1']:+.2f}  {r['question'][:60]!r}  gold={r['golds'][0][:30]!r}\n"
                f"        baseline {r['baseline']['answer'][:50]!r} -> {r[rule]['answer'][:50]!r} "
                f"(logprob {r[rule].get('logprob')}, mean {r[rule].get('mean_logprob')})"
            )
    scored = [r for r in rows if r["candidates"]]
    best_is_gold = sum(
        1 for r in scored if max(r["candidates"], key=lambda c: c["mean"])["f1_any"] >= 0.5 and r["oracle_f1_any"] > 0
    )
    print(
        f"oracle: a candidate with F1 >= 0.5 against a gold (either language) for "
        f"{sum(r['oracle_f1_any'] >= 0.5 for r in scored)} of {len(scored)} scored questions; "
        f"the mean-best candidate is one for {best_is_gold}; baseline F1 >= 0.5: "
        f"{sum(r['baseline']['f1'] >= 0.5 for r in rows)} of {len(rows)}"
    )
    p_nf = [(r["p_not_found_first"], r["baseline"]["refused"], r["baseline"]["f1"]) for r in scored]
    refused = sorted(p for p, ref, _ in p_nf if ref)
    answered = sorted(p for p, ref, _ in p_nf if not ref)
    print(f"P(NOT first) refused: {[round(p, 2) for p in refused]}")
    print(f"P(NOT first) answered: {[round(p, 2) for p in answered]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=("en", "de"), default="en")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sentences", type=int, default=3, help="best sentences the spans are taken from")
    parser.add_argument(
        "--full", type=int, help="score only the candidates with the N likeliest first tokens to the end (default: all)"
    )
    parser.add_argument("--qa", type=Path, default=XQUAD_DEV)
    parser.add_argument("--corpus", type=Path, default=XQUAD_CORPUS)
    parser.add_argument("--out", type=Path, help="one JSON line per question")
    parser.add_argument("--analyse", type=Path, help="read an --out file and print where the variants differ")
    args = parser.parse_args()
    if args.analyse:
        analyse(args.analyse)
        return

    settings = get_settings()
    items = sample(load_qa(args.qa, args.lang), args.limit, args.seed)
    rows: list[dict[str, Any]] = []
    with eval_index(settings, args.corpus, fresh=False, show_bar=False) as local:
        answerer = build_answerer(local)
        answerer.retriever.run("warm-up")
        warm_up(local)
        answerer.warm_up()
        for number, item in enumerate(items, start=1):
            row = run_question(answerer, item, args.lang, args.sentences, args.full)
            rows.append(row)
            log(
                f"{number}/{len(items)} base={row['baseline']['answer']!r} ({row['baseline']['f1']}) "
                f"mean={row['mean']['answer']!r} ({row['mean']['f1']}) cands={len(row['candidates'])} "
                f"score={row.get('scoring_ms', 0)} ms golds={row['golds'][:2]}"
            )
            if args.out:
                args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    scored_rows = [r for r in rows if r["candidates"]]
    summary = {
        "questions": len(rows),
        "lang": args.lang,
        "seed": args.seed,
        "sentences": args.sentences,
        "full": args.full,
        "candidates_mean": round(sum(len(r["candidates"]) for r in scored_rows) / max(1, len(scored_rows)), 1),
        "scoring_ms_p50": round(median([r["scoring_ms"] for r in scored_rows])) if scored_rows else None,
        "oracle_f1_any": round(sum(r.get("oracle_f1_any", 0) for r in rows) / len(rows), 4),
        "baseline": _figures(rows, "baseline"),
        **{rule: _figures(rows, rule) for rule in RULES},
    }
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()

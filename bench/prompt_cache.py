"""How much of each prompt llama.cpp takes from its cache: prompt tokens evaluated vs. reused, per question.

Usage::

    .venv/bin/python bench/prompt_cache.py --limit 20                       # the settings in the environment
    NEWSQA_CASCADE_DEPTH=3 NEWSQA_EVIDENCE=paragraphs .venv/bin/python bench/prompt_cache.py --limit 20 --json

llama.cpp keeps the tokens of a context's last prompt and evaluates only what follows the longest
prefix a new prompt shares with it. The fixed rules and worked examples lead every answer prompt, so
after the start-up warm-up a question should pay only for its passages and question; this shows
whether it does (and whether translating or anything else evicts them). It counts, through
llama-cpp-python's public ``Llama.generate`` and ``Llama.eval``, each call's prompt length and the
tokens actually evaluated before the first new token, over ``--limit`` XQuAD dev questions (English
by default), after the warm-up the chat also does at start-up. The index is the evaluation's
(``newsqa eval`` builds it; this script reuses or builds it the same way).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/x.py` from a checkout

from bench.common import XQUAD_CORPUS, XQUAD_DEV, log  # noqa: E402
from evaluation.dataset import load_qa, sample  # noqa: E402
from evaluation.running import eval_index  # noqa: E402
from rag.settings import get_settings, offline_environment  # noqa: E402


class Counting:
    """Wraps ``Llama.generate`` and ``Llama.eval``: per call, the prompt's tokens and those evaluated."""

    def __init__(self, llama_class: Any) -> None:
        self.calls: list[dict[str, int]] = []
        self._in_prompt = False
        generate, evaluate = llama_class.generate, llama_class.eval
        counting = self

        def counted_generate(self: Any, tokens: Any, *args: Any, **kwargs: Any) -> Any:
            counting.calls.append({"prompt": len(tokens), "evaluated": 0})
            counting._in_prompt = True
            for token in generate(self, tokens, *args, **kwargs):
                counting._in_prompt = False  # what is evaluated from here on is the reply
                yield token

        def counted_eval(self: Any, tokens: Any) -> Any:
            if counting._in_prompt and counting.calls:
                counting.calls[-1]["evaluated"] += len(tokens)
            return evaluate(self, tokens)

        llama_class.generate, llama_class.eval = counted_generate, counted_eval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    offline_environment()
    import llama_cpp

    from rag.answer.answering import build_answerer

    counting = Counting(llama_cpp.Llama)
    items = sample(load_qa(XQUAD_DEV), args.limit, args.seed)
    with eval_index(get_settings(), XQUAD_CORPUS, fresh=False, show_bar=False) as local:
        answerer = build_answerer(local)
        answerer.warm_up()
        counting.calls.clear()
        rows = []
        for item in items:
            before = len(counting.calls)
            answer = answerer.ask(item.question(args.lang))
            calls = counting.calls[before:]
            rows.append(
                {
                    "llm_calls": len(calls),
                    "prompt_tokens": sum(c["prompt"] for c in calls),
                    "evaluated_tokens": sum(c["evaluated"] for c in calls),
                    "first_token_ms": answer.timings_ms.get("first_token"),
                }
            )
            log(f"{rows[-1]}")
    asked = [r for r in rows if r["llm_calls"]]
    prompt = sum(r["prompt_tokens"] for r in asked)
    evaluated = sum(r["evaluated_tokens"] for r in asked)
    summary = {
        "questions": len(rows),
        "asked_the_llm": len(asked),
        "llm_calls_per_question": round(statistics.fmean(r["llm_calls"] for r in asked), 2) if asked else None,
        "prompt_tokens_per_question": round(prompt / len(asked), 1) if asked else None,
        "evaluated_tokens_per_question": round(evaluated / len(asked), 1) if asked else None,
        "cached_share": round(1 - evaluated / prompt, 3) if prompt else None,
        "first_token_ms_p50": statistics.median(r["first_token_ms"] for r in asked if r["first_token_ms"])
        if any(r["first_token_ms"] for r in asked)
        else None,
    }
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()

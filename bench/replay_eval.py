"""``newsqa eval`` with every LLM reply kept by its exact prompt: shows that a change left the model's inputs alone.

Usage::

    .venv/bin/python bench/replay_eval.py --cache /tmp/replies.sqlite -- \\
        --qa ../shared/data/xquad/dev.jsonl --corpus ../shared/data/xquad/corpus --lang en --limit 200 --json

The first run (on the code before a change) asks the model and keeps each reply in ``--cache``, keyed
by the exact messages and model parameters (LangChain's LLM cache). A run on the changed code with the
same cache gets a reply only for a prompt it has seen byte for byte; any other prompt is a *miss* and
goes to the model. The last line on stderr counts them: ``0 misses`` means every prompt the changed
code built (answers, translations) was identical, so its figures are the old ones by construction, in
minutes instead of an hour. Streaming is switched off for the run (the cache serves only whole
replies); greedy decoding writes the same reply either way. Timings in the report are meaningless.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/x.py` from a checkout

from langchain_core.caches import BaseCache  # noqa: E402
from langchain_core.globals import set_llm_cache  # noqa: E402
from langchain_core.load import dumps, loads  # noqa: E402

import rag.models.llm  # noqa: E402
from ui.cli import main as newsqa  # noqa: E402


class PromptCache(BaseCache):
    """LLM replies in SQLite by (prompt, model parameters), counting hits and misses."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS replies (prompt TEXT, llm TEXT, reply TEXT, PRIMARY KEY (prompt, llm))"
        )
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def lookup(self, prompt: str, llm_string: str) -> Any:
        with self.lock:
            row = self.db.execute(
                "SELECT reply FROM replies WHERE prompt = ? AND llm = ?", (prompt, llm_string)
            ).fetchone()
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
        return loads(row[0])

    def update(self, prompt: str, llm_string: str, return_val: Any) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?, ?)", (prompt, llm_string, dumps(return_val)))
            self.db.commit()

    def clear(self, **kwargs: Any) -> None:
        with self.lock:
            self.db.execute("DELETE FROM replies")
            self.db.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="SQLite file of the kept replies")
    parser.add_argument("eval_args", nargs=argparse.REMAINDER, help="after --: the arguments of `newsqa eval`")
    args = parser.parse_args()
    cache = PromptCache(args.cache)
    set_llm_cache(cache)
    make_model = rag.models.llm.get_chat_model

    def whole_replies(settings: Any) -> Any:
        return make_model(settings).model_copy(update={"disable_streaming": True})

    rag.models.llm.get_chat_model = whole_replies  # build_answerer looks it up when called
    eval_args = [a for a in args.eval_args if a != "--"]
    status = newsqa(["eval", *eval_args])
    print(json.dumps({"cache_hits": cache.hits, "cache_misses": cache.misses}), file=sys.stderr)
    print(f"{cache.hits} hits, {cache.misses} misses", file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()

"""Answer speed: newsqa's query path against the naive LangChain tutorial RAG chain, in one process run.

    .venv/bin/python bench/answer.py [--retrieval 200] [--answers 30]

On the XQuAD corpus (../shared/data/xquad/corpus, 48 German articles; questions from dev.jsonl,
English and German alternating):

* retrieval latency p50/p95 over ``--retrieval`` questions (newsqa's Retriever; the naive
  ``as_retriever(k=4)`` over RecursiveCharacterTextSplitter(1000, 200) chunks), with hit@4;
* the instant answer: time from question to newsqa's QuickAnswer, and how often it holds the answer;
* for ``--answers`` questions: time to the first answer token and to the whole answer, newsqa's
  Answerer (warmed up at start, as the chat does) against the tutorial chain
  ``{context: retriever | format_docs, question} | prompt | llm | StrOutputParser()`` on the same LLM;
* peak RSS of this serving process during newsqa's phase (models, index, LLM), then the naive phase.

The newsqa index is built with the `newsqa ingest` command in a separate process, so this process
holds only what a serving process (the chat) holds. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ROOT,
    XQUAD_CORPUS,
    Question,
    RssPeak,
    log,
    median,
    naive_embeddings,
    naive_index,
    naive_span,
    passage_holds_answer,
    percentile,
    rss_mb,
    xquad_questions,
)
from rag.settings import Settings  # noqa: E402

NAIVE_PROMPT = """Answer the question based only on the following context:
{context}

Question: {question}
"""


def asked(q: Question, i: int) -> tuple[str, str]:
    return ("en", q.en) if i % 2 == 0 else ("de", q.de)


def normal(text: str) -> str:
    return " ".join(text.lower().replace(".", "").replace(",", "").split())


def holds(answer: str, golds: list[str]) -> bool:
    return any(normal(g) in normal(answer) for g in golds if g.strip())


def newsqa_phase(settings: Settings, questions: list[Question], answers: int) -> dict:
    from rag.answer.answering import build_answerer
    from rag.answer.quick import QuickAnswer, quick_answer
    from rag.answer.results import Answer, Token
    from rag.models.llm import warm_up

    log("newsqa: loading and warming up")
    out: dict = {"rss_start_mb": rss_mb()}
    with RssPeak() as peak:
        start = time.perf_counter()
        answerer = build_answerer(settings)
        answerer.retriever.store.embeddings.prepare()
        warm_up(settings)
        answerer.warm_up()
        out["startup_s"] = time.perf_counter() - start
        retriever, gate = answerer.retriever, answerer.gate
        retriever.run("warm-up question")
        log(f"newsqa: {len(questions)} retrievals and quick answers")
        retrieve_ms, quick_ms, hits, quick_hits = [], [], 0, 0
        for i, q in enumerate(questions):
            lang, text = asked(q, i)
            t0 = time.perf_counter()
            found = retriever.search(text)
            passages = found.passages
            t1 = time.perf_counter()
            # As the chat: an instant answer only for a question the answerability gate lets through.
            quick = quick_answer(text, passages, retriever.store.embeddings) if gate.run(found).answerable else None
            t2 = time.perf_counter()
            retrieve_ms.append((t1 - t0) * 1000)
            quick_ms.append((t2 - t0) * 1000)
            hits += any(passage_holds_answer(q, p.source, p.start, p.end) for p in passages)
            quick_hits += bool(quick) and holds(quick.text, q.answers_de)
        out.update(
            retrieve_ms=retrieve_ms,
            quick_ms=quick_ms,
            hit4=hits / len(questions),
            quick_holds_answer=quick_hits / len(questions),
        )
        first_ms, total_ms, stream_quick_ms, correct = [], [], [], 0
        log(f"newsqa: {answers} answers")
        for i, q in enumerate(questions[:answers]):
            lang, text = asked(q, i)
            t0 = time.perf_counter()
            first = quick_at = None
            final = None
            for event in answerer.stream(text):
                now = (time.perf_counter() - t0) * 1000
                if isinstance(event, QuickAnswer) and quick_at is None:
                    quick_at = now
                elif isinstance(event, Token) and first is None:
                    first = now
                elif isinstance(event, Answer):
                    final = event
            total = (time.perf_counter() - t0) * 1000
            first_ms.append(first if first is not None else total)  # a refusal without LLM: all at once
            total_ms.append(total)
            if quick_at is not None:
                stream_quick_ms.append(quick_at)
            correct += final is not None and holds(final.answer, q.answers_en if lang == "en" else q.answers_de)
        out.update(
            first_token_ms=first_ms,
            answer_ms=total_ms,
            stream_quick_ms=stream_quick_ms,
            answer_holds_gold=correct / max(1, len(first_ms)),
        )
    out["peak_rss_mb"] = peak.mb
    return out


def naive_phase(settings: Settings, questions: list[Question], answers: int, workdir: Path) -> dict:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough

    from rag.models.llm import get_chat_model

    out: dict = {}
    log("naive: indexing the XQuAD corpus")
    with RssPeak() as peak:
        emb = naive_embeddings(settings)
        start = time.perf_counter()
        store = naive_index(XQUAD_CORPUS, emb, workdir / "naive")
        out["index_s"] = time.perf_counter() - start
        retriever = store.as_retriever(search_kwargs={"k": 4})
        retriever.invoke("warm-up question")
        retrieve_ms, hits = [], 0
        for i, q in enumerate(questions):
            _, text = asked(q, i)
            t0 = time.perf_counter()
            docs = retriever.invoke(text)
            retrieve_ms.append((time.perf_counter() - t0) * 1000)
            hits += any(passage_holds_answer(q, d.metadata["source"], *naive_span(d)) for d in docs)
        out.update(retrieve_ms=retrieve_ms, hit4=hits / len(questions))

        def format_docs(docs: list) -> str:
            return "\n\n".join(d.page_content for d in docs)

        chain = (
            {"context": retriever | format_docs, "question": RunnablePassthrough()}
            | ChatPromptTemplate.from_template(NAIVE_PROMPT)
            | get_chat_model(settings)
            | StrOutputParser()
        )
        first_ms, total_ms, correct = [], [], 0
        log(f"naive: {answers} answers")
        for i, q in enumerate(questions[:answers]):
            lang, text = asked(q, i)
            t0 = time.perf_counter()
            first, answer = None, ""
            for piece in chain.stream(text):
                if piece and first is None:
                    first = (time.perf_counter() - t0) * 1000
                answer += piece
            total = (time.perf_counter() - t0) * 1000
            first_ms.append(first if first is not None else total)
            total_ms.append(total)
            correct += holds(answer, q.answers_en if lang == "en" else q.answers_de)
        out.update(first_token_ms=first_ms, answer_ms=total_ms, answer_holds_gold=correct / max(1, len(first_ms)))
    out["peak_rss_mb"] = peak.mb
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--retrieval", type=int, default=200, help="questions for retrieval latency")
    parser.add_argument("--answers", type=int, default=30, help="questions answered by the LLM")
    parser.add_argument("--no-naive", action="store_true", help="newsqa only")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="newsqa-bench-answer-"))
    settings = Settings(index_dir=workdir / "index")
    env = dict(os.environ, NEWSQA_INDEX_DIR=str(settings.index_dir))
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "newsqa"), "ingest", "--quiet", str(XQUAD_CORPUS)],
        env=env,
        check=True,
        capture_output=True,
    )
    questions = xquad_questions(args.retrieval)

    ours = newsqa_phase(settings, questions, args.answers)
    theirs = None if args.no_naive else naive_phase(settings, questions, args.answers, workdir)

    def stats(run: dict | None, key: str) -> dict | None:
        if not run or not run.get(key):
            return None
        return {"p50": round(median(run[key]), 1), "p95": round(percentile(run[key], 95), 1)}

    result = {
        "bench": "answer",
        "backend": settings.embedding_backend,
        "questions": len(questions),
        "answered": min(args.answers, len(questions)),
        "newsqa": {
            "retrieve_ms": stats(ours, "retrieve_ms"),
            "quick_answer_ms": stats(ours, "quick_ms"),
            "stream_quick_answer_ms": stats(ours, "stream_quick_ms"),
            "first_token_ms": stats(ours, "first_token_ms"),
            "answer_ms": stats(ours, "answer_ms"),
            "hit4": round(ours["hit4"], 3),
            "quick_answer_holds_gold": round(ours["quick_holds_answer"], 3),
            "answer_holds_gold": round(ours["answer_holds_gold"], 3),
            "startup_s": round(ours["startup_s"], 1),
            "peak_rss_mb": round(ours["peak_rss_mb"]),
        },
        "naive": None
        if not theirs
        else {
            "retrieve_ms": stats(theirs, "retrieve_ms"),
            "first_token_ms": stats(theirs, "first_token_ms"),
            "answer_ms": stats(theirs, "answer_ms"),
            "hit4": round(theirs["hit4"], 3),
            "answer_holds_gold": round(theirs["answer_holds_gold"], 3),
            "peak_rss_mb_incl_newsqa": round(theirs["peak_rss_mb"]),
        },
    }
    if theirs:
        result["ratios_naive_over_newsqa"] = {
            k: round(result["naive"][k]["p50"] / result["newsqa"][k]["p50"], 2)
            for k in ("retrieve_ms", "first_token_ms", "answer_ms")
        }
    print_table(result)
    print(json.dumps(result, ensure_ascii=False))
    shutil.rmtree(workdir, ignore_errors=True)


def print_table(r: dict) -> None:
    n, q = r["naive"] or {}, r["newsqa"]

    def cell(run: dict, key: str) -> str:
        v = run.get(key)
        return f"{v['p50']:.0f} / {v['p95']:.0f}" if v else "-"

    print(f"XQuAD corpus, {r['questions']} questions for retrieval, {r['answered']} answered; backend {r['backend']}")
    print(f"{'':32} {'naive':>16} {'newsqa':>16} {'naive/newsqa':>13}")
    ratios = r.get("ratios_naive_over_newsqa", {})
    for label, key in (
        ("retrieval ms p50/p95", "retrieve_ms"),
        ("quick answer ms p50/p95", "quick_answer_ms"),
        ("  in stream() ms p50/p95", "stream_quick_answer_ms"),
        ("first token ms p50/p95", "first_token_ms"),
        ("whole answer ms p50/p95", "answer_ms"),
    ):
        ratio = f"{ratios[key]:.2f}x" if key in ratios else ""
        print(f"{label:32} {cell(n, key):>16} {cell(q, key):>16} {ratio:>13}")
    print(f"{'hit@4':32} {n.get('hit4', '-'):>16} {q['hit4']:>16}")
    print(f"{'answer holds the gold answer':32} {n.get('answer_holds_gold', '-'):>16} {q['answer_holds_gold']:>16}")
    print(f"{'quick answer holds the gold':32} {'-':>16} {q['quick_answer_holds_gold']:>16}")
    print(
        f"{'peak RSS MB (serving process)':32} {n.get('peak_rss_mb_incl_newsqa', '-'):>16} {q['peak_rss_mb']:>16}"
        "   (naive: the same process, newsqa's models still loaded)"
    )


if __name__ == "__main__":
    main()

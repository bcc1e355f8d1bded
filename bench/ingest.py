"""Ingestion speed: newsqa against the naive LangChain tutorial pipeline, in one process run.

    .venv/bin/python bench/ingest.py [--limit N] [--questions 200] [--no-naive-rerun]

On the 10kGNAD test articles (../shared/data/news-10kgnad, the first N with --limit; copied to a
temporary folder, never into corpus/):

1. the naive pipeline — DirectoryLoader/TextLoader -> RecursiveCharacterTextSplitter(1000, 200) ->
   Chroma.from_documents with the same embedding model (sentence-transformers, torch) — and newsqa's
   `ingest()`: wall time, chunks, tokens embedded per second, peak RSS during the phase;
2. the same corpus again, unchanged: the whole `newsqa ingest` command (a new process, start-up
   included) must embed nothing; the naive pipeline re-embeds everything (and doubles its collection);
3. ten articles changed: `newsqa ingest` again, and the naive pipeline again;
4. retrieval quality of both indexes on the XQuAD corpus: hit@4 (a top-4 passage holds the gold answer).

Also runs both first ingestions again as whole commands (a process each, imports and model load
included, fresh indexes; ``--rounds`` times in turns, the median kept): `newsqa ingest` against the tutorial as a script. Measures the CPU's int8
GEMM rate (ONNX Runtime's MatMulInteger, what the int8 model runs on) and reports embedding tokens/s
as a fraction of rate / 42 M operations per token. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    FLOP_PER_TOKEN,
    NEWS_DIR,
    ROOT,
    XQUAD_CORPUS,
    CountingEmbeddings,
    Quality,
    RssPeak,
    gemm_gflops,
    int8_gemm_gops,
    log,
    naive_embeddings,
    naive_index,
    naive_span,
    passage_holds_answer,
    passage_token_counter,
    rss_mb,
    xquad_questions,
)
from rag.settings import Settings  # noqa: E402


def copy_articles(dest: Path, limit: int) -> list[Path]:
    dest.mkdir(parents=True)
    files = sorted(NEWS_DIR.glob("*.txt"))[: limit or None]
    for f in files:
        shutil.copy2(f, dest / f.name)
    return sorted(dest.glob("*.txt"))


def run_cli(args: list[str], settings: Settings) -> tuple[float, str]:
    """Run the `newsqa` command as a user would; returns (wall seconds, its stderr)."""
    env = dict(os.environ)
    env.update(
        NEWSQA_INDEX_DIR=str(settings.index_dir),
        NEWSQA_MODEL_DIR=str(settings.model_dir),
        NEWSQA_EMBEDDING_BACKEND=settings.embedding_backend,
        NEWSQA_TORCH_THREADS=str(settings.torch_threads),
        NEWSQA_EMBEDDING_BATCH_SIZE=str(settings.embedding_batch_size),
        NEWSQA_POOLING=settings.pooling,
        NEWSQA_SENTENCE_VECTORS=str(settings.sentence_vectors).lower(),
    )
    # This checkout's code, whichever environment runs it (a worktree has no .venv of its own).
    env["PYTHONPATH"] = str(ROOT)
    # What the `newsqa` console script runs, plus the process's own peak RSS (VmHWM) on the last
    # line. (ru_maxrss would report this big parent's RSS: Linux keeps it across fork and exec.)
    probe = (
        "import sys; from ui.cli import main; code = main(sys.argv[1:]); "
        "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]; "
        "print(f'peak_rss_kb {hwm}', file=sys.stderr); sys.exit(code)"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"newsqa {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    *rest, rss_line = done.stderr.strip().splitlines()
    run_cli.peak_rss_mb = int(rss_line.split()[1]) / 1024  # type: ignore[attr-defined]
    return seconds, rest[-1]


# The naive tutorial as a script of its own: imports, the model, load, split, embed, write.
NAIVE_SCRIPT = (
    "import sys; from pathlib import Path; from rag.settings import Settings; "
    "from bench.common import naive_embeddings, naive_index; "
    "store = naive_index(Path(sys.argv[1]), naive_embeddings(Settings()), Path(sys.argv[2])); "
    "print(store._collection.count())"
)


def naive_command(folder: Path, persist: Path, settings: Settings) -> float:
    """Wall seconds of the naive pipeline run as a whole script, start-up and model load included."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEWSQA_MODEL_DIR": str(settings.model_dir)}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", NAIVE_SCRIPT, str(folder), str(persist)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def newsqa_ingest(folder: Path, settings: Settings, counting: CountingEmbeddings) -> dict:
    import ingest.indexing as indexing

    counting.reset()
    encoder = counting.inner.onnx_encoder() if counting.inner.backend == "onnx-int8" else None
    tokens_before = encoder.tokens_embedded if encoder else 0
    indexing.get_embeddings = lambda _settings: counting  # count what newsqa embeds (bench only)
    with RssPeak() as peak:
        before = peak.mb
        start = time.perf_counter()
        report = indexing.ingest([folder], settings, show_bar=False)
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "chunks": report.chunks,
        "sentences": report.sentences,
        "added": report.added,
        # What the encoder really ran (pooled passages encode each sentence once), else the texts' tokens.
        "tokens": encoder.tokens_embedded - tokens_before if encoder else counting.tokens,
        "embed_seconds": counting.seconds,
        "peak_rss_mb": peak.mb,
        "rss_growth_mb": peak.mb - before,
    }


def naive_run(folder: Path, persist: Path, counting: CountingEmbeddings) -> tuple[dict, object]:
    counting.reset()
    with RssPeak() as peak:
        before = peak.mb
        start = time.perf_counter()
        store = naive_index(folder, counting, persist)
        seconds = time.perf_counter() - start
    return {
        "rss_growth_mb": peak.mb - before,
        "seconds": seconds,
        "chunks": counting.texts,
        "added": counting.texts,
        "collection": store._collection.count(),
        "tokens": counting.tokens,
        "embed_seconds": counting.seconds,
        "peak_rss_mb": peak.mb,
    }, store


def change_articles(files: list[Path], count: int) -> None:
    """Append a sentence to ``count`` articles spread over the corpus (a real edit: new text)."""
    step = max(1, len(files) // count)
    for i, path in enumerate(files[::step][:count]):
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"\nNachtrag {i}: Der Artikel wurde am {i + 1}. März aktualisiert.\n")


def quality(settings: Settings, workdir: Path, questions: int, newsqa_emb, naive_emb) -> dict:
    """hit@4 of both pipelines on the XQuAD corpus, English and German questions."""
    from ingest.indexing import ingest
    from rag.retrieval.retrieving import Retriever
    from rag.store import open_store

    qs = xquad_questions(questions)
    xsettings = settings.model_copy(update={"index_dir": workdir / "xquad-index"})
    import ingest.indexing as indexing

    indexing.get_embeddings = lambda _s: newsqa_emb
    ingest([XQUAD_CORPUS], xsettings, show_bar=False)
    retriever = Retriever(open_store(xsettings, newsqa_emb), top_k=10)
    naive = naive_index(XQUAD_CORPUS, naive_emb, workdir / "xquad-naive").as_retriever(search_kwargs={"k": 4})
    ours, theirs, ours10 = Quality(), Quality(), Quality()
    chars = {"newsqa": 0, "naive": 0}
    for q in qs:
        ours.asked += 1
        theirs.asked += 1
        ours10.asked += 1
        for lang, text in (("en", q.en), ("de", q.de)):
            passages = retriever.run(text)
            ours.hits[lang] += any(passage_holds_answer(q, p.source, p.start, p.end) for p in passages[:4])
            ours10.hits[lang] += any(passage_holds_answer(q, p.source, p.start, p.end) for p in passages)
            chars["newsqa"] += sum(len(p.text) for p in passages[:4])
            docs = naive.invoke(text)
            theirs.hits[lang] += any(passage_holds_answer(q, d.metadata["source"], *naive_span(d)) for d in docs)
            chars["naive"] += sum(len(d.page_content) for d in docs)
    return {
        "questions": len(qs),
        "newsqa_hit4_en": ours.rate("en"),
        "newsqa_hit4_de": ours.rate("de"),
        "naive_hit4_en": theirs.rate("en"),
        "naive_hit4_de": theirs.rate("de"),
        # newsqa's passages are ~2.6x shorter: at the same amount of text read, 10 of them.
        "newsqa_hit10_en": ours10.rate("en"),
        "newsqa_hit10_de": ours10.rate("de"),
        "newsqa_top4_chars": round(chars["newsqa"] / (2 * len(qs))),
        "naive_top4_chars": round(chars["naive"] / (2 * len(qs))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="first N articles (default: all 1,028)")
    parser.add_argument("--questions", type=int, default=200, help="XQuAD questions for hit@4 (0: skip)")
    parser.add_argument("--no-naive-rerun", action="store_true", help="skip re-running the naive pipeline")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--rounds", type=int, default=3, help="whole-command runs of each pipeline, in turns (median)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="newsqa-bench-ingest-"))
    settings = Settings(index_dir=workdir / "index")
    files = copy_articles(workdir / "articles", args.limit)
    count_tokens = passage_token_counter(settings)

    from rag.models.embedding import PassageEmbeddings

    ours = CountingEmbeddings(PassageEmbeddings.from_settings(settings), count_tokens)
    theirs = CountingEmbeddings(naive_embeddings(settings), count_tokens)
    load, model_rss = {}, {}
    for name, emb in (("newsqa", ours), ("naive", theirs)):
        start, rss = time.perf_counter(), rss_mb()
        emb.inner.prepare()
        emb.inner.embed_documents(["warm-up"])
        load[name] = time.perf_counter() - start
        model_rss[name] = rss_mb() - rss  # the embedding model's resident cost (newsqa's loads first)
    gemm = gemm_gflops()
    int8_gops = int8_gemm_gops(settings.torch_threads)
    limit_tps = int8_gops * 1e9 / FLOP_PER_TOKEN

    log(f"naive pipeline: {len(files)} articles")
    naive, _ = naive_run(workdir / "articles", workdir / "naive", theirs)
    log("newsqa: first ingest")
    first = newsqa_ingest(workdir / "articles", settings, ours)
    log(f"both again as whole commands, each in a process of its own, on fresh indexes ({args.rounds} rounds)")
    # Taken in turns, so a change in the machine's load between rounds falls on both pipelines alike.
    naive_cmd, ours_cmd = [], []
    for round_ in range(args.rounds):
        naive_cmd.append(naive_command(workdir / "articles", workdir / f"naive-cmd{round_}", settings))
        fresh = settings.model_copy(update={"index_dir": workdir / f"index-cmd{round_}"})
        seconds, first_cli_line = run_cli(["ingest", "--quiet", str(workdir / "articles")], fresh)
        ours_cmd.append(seconds)
        log(f"  round {round_ + 1}: naive {naive_cmd[-1]:.1f} s, newsqa {seconds:.1f} s")
    naive_cmd_s, first_cli_s = statistics.median(naive_cmd), statistics.median(ours_cmd)
    log("again unchanged, then 10 articles changed")

    unchanged_s, unchanged_line = run_cli(["ingest", "--quiet", str(workdir / "articles")], settings)
    unchanged_rss = run_cli.peak_rss_mb  # type: ignore[attr-defined]
    naive_again = None if args.no_naive_rerun else naive_run(workdir / "articles", workdir / "naive", theirs)[0]

    change_articles(files, 10)
    changed_s, changed_line = run_cli(["ingest", "--quiet", str(workdir / "articles")], settings)
    cli_peak_rss = run_cli.peak_rss_mb  # type: ignore[attr-defined]  # a real `newsqa ingest` process
    naive_changed = None if args.no_naive_rerun else naive_run(workdir / "articles", workdir / "naive", theirs)[0]

    log("retrieval quality on XQuAD")
    qual = quality(settings, workdir, args.questions, ours.inner, theirs.inner) if args.questions else {}

    def tps(run: dict) -> float:
        return run["tokens"] / run["embed_seconds"] if run["embed_seconds"] else float("nan")

    result = {
        "bench": "ingest",
        "articles": len(files),
        "backend": settings.embedding_backend,
        "threads": settings.torch_threads or os.cpu_count(),
        "gemm_gflops": round(gemm["best"], 1),
        "int8_gemm_gops": round(int8_gops, 1),
        "pooling": settings.pooling,
        "naive_command_s": round(naive_cmd_s, 2),
        "newsqa_command_s": round(first_cli_s, 2),
        "speedup_command": round(naive_cmd_s / first_cli_s, 2),
        "command_rounds_s": {"naive": [round(x, 2) for x in naive_cmd], "newsqa": [round(x, 2) for x in ours_cmd]},
        "first_cli_summary": first_cli_line,
        "limit_tokens_per_s": round(limit_tps),
        "model_load_s": {k: round(v, 2) for k, v in load.items()},
        "model_rss_mb": {k: round(v) for k, v in model_rss.items()},
        "newsqa_cli_peak_rss_mb": round(cli_peak_rss),
        "unchanged_cli_peak_rss_mb": round(unchanged_rss),
        "naive": {k: round(v, 2) if isinstance(v, float) else v for k, v in naive.items()},
        "newsqa": {k: round(v, 2) if isinstance(v, float) else v for k, v in first.items()},
        "speedup_wall": round(naive["seconds"] / first["seconds"], 2),
        "newsqa_embed_tokens_per_s": round(tps(first)),
        "naive_embed_tokens_per_s": round(tps(naive)),
        "newsqa_embed_fraction_of_limit": round(tps(first) / limit_tps, 3),
        "naive_embed_fraction_of_limit": round(tps(naive) / limit_tps, 3),
        "rss_ratio": round(first["peak_rss_mb"] / naive["peak_rss_mb"], 2),
        "unchanged_cli_s": round(unchanged_s, 2),
        "unchanged_summary": unchanged_line,
        "naive_rerun_s": round(naive_again["seconds"], 2) if naive_again else None,
        "naive_rerun_collection": naive_again["collection"] if naive_again else None,
        "changed10_cli_s": round(changed_s, 2),
        "changed10_summary": changed_line,
        "naive_changed10_s": round(naive_changed["seconds"], 2) if naive_changed else None,
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in qual.items()},
    }
    print_table(result)
    print(json.dumps(result, ensure_ascii=False))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


def print_table(r: dict) -> None:
    n, q = r["naive"], r["newsqa"]
    rows = [
        ("", "naive", "newsqa", "newsqa/naive"),
        (
            f"whole command, first ingest (s, median of {len(r['command_rounds_s']['naive'])})",
            f"{r['naive_command_s']:.1f}",
            f"{r['newsqa_command_s']:.1f}",
            f"{r['speedup_command']:.2f}x faster",
        ),
        (
            "  in-process, model loaded (s)",
            f"{n['seconds']:.1f}",
            f"{q['seconds']:.1f}",
            f"{r['speedup_wall']:.2f}x faster",
        ),
        ("chunks (+ sentence records)", n["chunks"], f"{q['chunks']} (+{q['sentences']})", ""),
        ("tokens embedded", n["tokens"], q["tokens"], f"{q['tokens'] / n['tokens']:.2f}"),
        (
            "embedding tokens/s",
            r["naive_embed_tokens_per_s"],
            r["newsqa_embed_tokens_per_s"],
            f"{r['newsqa_embed_tokens_per_s'] / r['naive_embed_tokens_per_s']:.2f}",
        ),
        (
            "  of the int8 GEMM limit",
            f"{r['naive_embed_fraction_of_limit']:.0%}",
            f"{r['newsqa_embed_fraction_of_limit']:.0%}",
            "",
        ),
        (
            "peak RSS (MB, both in 1 process)",
            f"{n['peak_rss_mb']:.0f}",
            f"{q['peak_rss_mb']:.0f}",
            f"{r['rss_ratio']:.2f}",
        ),
        ("  RSS growth during ingest (MB)", f"{n['rss_growth_mb']:.0f}", f"{q['rss_growth_mb']:.0f}", ""),
        (
            "  embedding model resident (MB)",
            r["model_rss_mb"]["naive"],
            r["model_rss_mb"]["newsqa"],
            f"{r['model_rss_mb']['newsqa'] / max(1, r['model_rss_mb']['naive']):.2f}",
        ),
        (
            "  `newsqa ingest` process peak",
            "",
            f"{r['newsqa_cli_peak_rss_mb']} (10 changed)",
            f"{r['unchanged_cli_peak_rss_mb']} (unchanged)",
        ),
        ("again, unchanged (s)", r["naive_rerun_s"], f"{r['unchanged_cli_s']:.2f} (whole CLI)", ""),
        ("10 articles changed (s)", r["naive_changed10_s"], f"{r['changed10_cli_s']:.2f} (whole CLI)", ""),
    ]
    if "newsqa_hit4_en" in r:
        rows += [
            ("XQuAD hit@4 EN question", f"{r['naive_hit4_en']:.3f}", f"{r['newsqa_hit4_en']:.3f}", ""),
            ("XQuAD hit@4 DE question", f"{r['naive_hit4_de']:.3f}", f"{r['newsqa_hit4_de']:.3f}", ""),
            ("  characters in the top 4", r["naive_top4_chars"], r["newsqa_top4_chars"], ""),
            (
                "  newsqa hit@10 EN / DE",
                "",
                f"{r['newsqa_hit10_en']:.3f} / {r['newsqa_hit10_de']:.3f}",
                "same text as naive's 4",
            ),
        ]
    print(
        f"{r['articles']} articles, backend {r['backend']}, {r['threads']} threads, pooling "
        f"{r['pooling']}; int8 GEMM {r['int8_gemm_gops']} GOP/s (fp32 {r['gemm_gflops']} GFLOP/s) "
        f"-> limit {r['limit_tokens_per_s']} tokens/s at 42 M int8 ops/token"
    )
    for row in rows:
        print(f"{str(row[0]):30} {str(row[1]):>12} {str(row[2]):>24} {str(row[3]):>16}")
    print(f"first:     {r['first_cli_summary']}")
    print(f"unchanged: {r['unchanged_summary']}")
    print(f"changed:   {r['changed10_summary']}")


if __name__ == "__main__":
    main()

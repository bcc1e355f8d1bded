"""How the store and the keyword index grow with the collection: one index grown to 10k, 100k, 1M passages.

    .venv/bin/python bench/scale.py [--sizes 10000 100000 1000000] [--dir /tmp/newsqa-scale]
                                    [--queries 200] [--sentences-at 10000]

Passages are real sentences of the 1,028 shipped news articles (``../shared/data/news-10kgnad``),
recombined into articles of ten passages of about 100 tokens; every article carries one made-up rare word.
**Vectors come from a cheap stand-in** (the passage's words hashed into e5's 384 dimensions), not from the
e5 model, at every size: the store and the keyword index are what is measured (e5 on these two cores embeds
about 50 passages a second: 6 hours for a million). The questions are embedded with the real e5 model.

The passages are written through newsqa's own write path (``ingest.indexing.index_articles``: LangChain's
indexing API, the record manager, Chroma, the keyword index and the catalogue), and one index grows through
the sizes. At each size it reports:

- ingestion throughput without the embedding (passages a second, this segment);
- dense (Chroma, the retriever's one query of 100 records) and keyword (FTS5 BM25, 20) query p50/p95, and a
  whole ``Retriever.run`` (e5 query embedding, dense with sentence lift, keyword, fusion), on German XQuAD
  questions;
- a new process's first retrieval from its start (imports, opening the index, loading e5), and its peak RSS;
- ``newsqa ingest ONE_FILE``, the whole command, and whether the article's rare word finds it at once;
- disk (Chroma folder, record database with its keyword tables) and this process's peak RSS.

``--sentences-at N`` also builds an N-passage index with the sentence records newsqa writes by default
(``NEWSQA_SENTENCE_VECTORS``) and reports what they add per passage. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.indexing import index  # noqa: E402

from bench.common import NEWS_DIR, ROOT, XQUAD_DEV, RssPeak, log  # noqa: E402
from ingest.indexing import index_articles  # noqa: E402
from rag.models.embedding import PassageEmbeddings  # noqa: E402
from rag.retrieval.keyword import keyword_search  # noqa: E402
from rag.retrieval.retrieving import SHARED_POOL, Retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import SENTENCE, mark_changed, open_store  # noqa: E402
from rag.text.sentences import split_sentences  # noqa: E402

_WORDS = re.compile(r"\w+")
PASSAGES_PER_ARTICLE = 10
PASSAGE_CHARS = 560  # about 100 e5 tokens of German news
WRITE_BATCH = 1000  # passages handed to the indexing API at once (whole articles)


class StandInEmbeddings(PassageEmbeddings):
    """e5's identity and query embedding, but passages get hashed-word vectors (no model run).

    Same ``model_id`` and dimension as the real model, so ``newsqa ingest`` and the retriever open the
    index as their own; a passage's vector is the normalised sum of one random vector per word, so
    passages sharing words lie near each other (HNSW sees structure, not uniform noise).
    """

    _basis = np.random.default_rng(0).standard_normal((1 << 16, 384)).astype(np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for row, text in enumerate(texts):
            # Python's own str hash: cheap, and the vectors only need to agree within this process.
            out[row] = self._basis[[hash(w) & 0xFFFF for w in _WORDS.findall(text.lower())]].sum(axis=0)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)
        return out.tolist()


def news_sentences() -> list[str]:
    """Every sentence of the shipped news articles of 40 to 300 characters."""
    sentences = []
    for path in sorted(NEWS_DIR.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        sentences += [text[s:e] for s, e in split_sentences(text) if 40 <= e - s <= 300]
    return sentences


def rare_word(number: int) -> str:
    """A made-up word no news article holds: 'Quabrelingen' + letters of ``number``."""
    return "Quabrel" + "".join("aeioulmnrst"[int(d)] for d in str(number)) + "ingen"


def articles(sentences: list[str], start: int, count: int, with_sentences: bool) -> list[list[Document]]:
    """``count`` articles from article number ``start`` on, as the chunks (and sentence records) of each."""
    out = []
    for number in range(start, start + count):
        rng = random.Random(number)
        source = f"/bench/news/artikel-{number:07d}.txt"
        title = rng.choice(sentences)[:80]
        base = {"source": source, "name": Path(source).name, "title": title}
        docs, sentence_docs, offset = [], [], 0
        for passage in range(PASSAGES_PER_ARTICLE):
            parts: list[str] = []
            while sum(len(p) + 1 for p in parts) < PASSAGE_CHARS:
                parts.append(rng.choice(sentences))
            if passage == 0:
                parts[0] = f"{rare_word(number)} meldet: {parts[0]}"
            text = " ".join(parts)
            docs.append(Document(text, metadata={**base, "start": offset, "end": offset + len(text)}))
            if with_sentences:
                at = offset
                for part in parts:
                    meta = {**base, "start": at, "end": at + len(part), "kind": SENTENCE}
                    sentence_docs.append(Document(part, metadata=meta))
                    at += len(part) + 1
            offset += len(text) + 1
        out.append(docs + sentence_docs)
    return out


def write(store, batches: list[list[Document]]) -> int:
    """Write whole articles through newsqa's indexing path, ``WRITE_BATCH`` passages at a time."""
    written, batch = 0, []
    for docs in batches:
        batch += docs
        if len(batch) >= WRITE_BATCH:
            written += index_articles(store, batch)[0]
            batch = []
    if batch:
        written += index_articles(store, batch)[0]
    return written


def write_bulk(store, batches: list[list[Document]]) -> int:
    """The same writes in big batches, without the indexing path's call per 64 chunks (for the 1M build).

    LangChain's indexing API with its content-hash ids, 5,000 chunks a call (Chroma's largest write): Chroma
    with the keyword tables, then the record manager; no cleanup (the articles are new).
    """
    docs = [d for docs in batches for d in docs]
    result = index(
        docs, store.records, store.vectors, cleanup=None, source_id_key="source", key_encoder="sha256", batch_size=5000
    )
    return result["num_added"]


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def record_db_mb(index_dir: Path) -> dict[str, float]:
    """The record database's pages by what they hold: keyword tables, catalogue, record manager."""
    parts = {"keyword": 0.0, "catalogue": 0.0, "records": 0.0}
    with sqlite3.connect(index_dir / "records.sqlite") as conn:
        for name, size in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            part = "catalogue" if "_articles" in name else "keyword" if name.startswith("kw_") else "records"
            parts[part] += size / 2**20
    return parts


def query_times(store, settings: Settings, questions: list[str], vectors: list[list[float]]) -> dict[str, float]:
    dense, keyword, whole = [], [], []
    retriever = Retriever(store, settings.top_k)
    for question, vector in zip(questions, vectors):
        started = time.perf_counter()
        store.vectors.similarity_search_by_vector_with_relevance_scores(vector, k=SHARED_POOL)
        dense.append(time.perf_counter() - started)
        started = time.perf_counter()
        keyword_search(store, question, 20)
        keyword.append(time.perf_counter() - started)
        started = time.perf_counter()
        retriever.run(question)
        whole.append(time.perf_counter() - started)
    out = {}
    for name, times in (("dense", dense), ("keyword", keyword), ("retrieve", whole)):
        p50, p95 = percentiles(times)
        out[f"{name}_ms_p50"], out[f"{name}_ms_p95"] = round(p50 * 1000, 1), round(p95 * 1000, 1)
    return out


FIRST_RETRIEVAL = textwrap.dedent(
    """
    import json, resource, sys, time
    started = time.time()
    from rag.settings import Settings
    from rag.models.embedding import get_embeddings
    from rag.retrieval.retrieving import build_retriever
    from rag.store import open_store
    imported = time.time()
    settings = Settings()
    store = open_store(settings, get_embeddings(settings))
    getattr(store, "preload", lambda: None)()  # as `newsqa ask` and the chat do (a checkout without it: no-op)
    opened = time.time()
    store.embeddings.embed_query("Modell laden")  # the model loads here, not inside the retrieval
    loaded = time.time()
    passages = build_retriever(settings, store).run(sys.argv[1])
    done = time.time()
    print(json.dumps({"done": done, "imports_s": imported - started, "open_s": opened - imported,
                      "model_s": loaded - opened, "first_run_s": done - loaded,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)


def ingest_command(code: Path, folder: Path, settings: Settings, timeout: float = 3600) -> tuple[float, str]:
    """`newsqa ingest FOLDER` run from checkout ``code``: (wall seconds, the report line)."""
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ingest", str(folder), "--quiet"],
        cwd=code,
        env=env_for(settings) | {"PYTHONPATH": str(code)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    seconds = time.perf_counter() - started
    if run.returncode:
        raise RuntimeError(run.stderr[-2000:])
    return seconds, run.stderr.strip().splitlines()[-1]


def env_for(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "NEWSQA_INDEX_DIR": str(settings.index_dir),
        "NEWSQA_MODEL_DIR": str(settings.model_dir),
        "PYTHONPATH": str(ROOT),
    }


def first_retrieval(settings: Settings, question: str, code: Path = ROOT) -> dict[str, float]:
    """A new process's first retrieval: from before it starts to its passages, model load included.

    ``code``: the newsqa checkout the process runs (another one measures its code on the same index).
    """
    started = time.time()
    run = subprocess.run(
        [sys.executable, "-c", FIRST_RETRIEVAL, question],
        cwd=code,
        env=env_for(settings) | {"PYTHONPATH": str(code)},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if run.returncode:
        raise RuntimeError(run.stderr[-2000:])
    got = json.loads(run.stdout.strip().splitlines()[-1])
    return {
        "first_retrieval_s": round(got["done"] - started, 2),
        "first_open_s": round(got["open_s"], 2),
        "first_model_s": round(got["model_s"], 2),
        "first_retrieval_ms": round(got["first_run_s"] * 1000),
        "reader_rss_mb": round(got["rss_mb"]),
    }


def add_one(settings: Settings, sentences: list[str], number: int, work: Path) -> dict[str, float]:
    """``newsqa ingest FILE`` of one new article (real e5), the whole command, and a search for its rare word."""
    folder = work / f"new-{number}"
    folder.mkdir(parents=True, exist_ok=True)
    word = rare_word(number)
    rng = random.Random(number)
    body = " ".join(rng.choice(sentences) for _ in range(12))
    (folder / "neu.txt").write_text(f"Neu: {word}\n{word} meldet: {body}", encoding="utf-8")
    seconds, _ = ingest_command(ROOT, folder, settings, timeout=1800)
    return {"add_one_article_s": round(seconds, 2), "rare_word": word, "folder": str(folder)}


def found_at_once(store, word: str) -> bool:
    hits = keyword_search(store, word, 1)
    if not hits:
        return False
    got = store.collection.get(ids=[hits[0][0]], include=["metadatas"])
    return got["metadatas"][0]["name"] == "neu.txt"


def sentence_cost(sentences: list[str], passages: int, work: Path, settings: Settings) -> dict[str, float]:
    """What the sentence records add per passage: an index of ``passages`` passages with and without them."""
    out = {}
    for with_sentences in (False, True):
        index = work / f"sentences-{with_sentences}"
        shutil.rmtree(index, ignore_errors=True)
        own = settings.model_copy(update={"index_dir": index})
        store = open_store(own, StandInEmbeddings.from_settings(own), create=True)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        write(store, articles(sentences, 0, passages // PASSAGES_PER_ARTICLE, with_sentences))
        key = "with" if with_sentences else "without"
        out[f"records_{key}"] = store.count()
        out[f"chroma_mb_{key}"] = round(folder_mb(index / "chroma"), 1)
        out[f"rss_growth_mb_{key}"] = round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024, 1)
    out["sentence_records_per_passage"] = round(out["records_with"] / out["records_without"] - 1, 2)
    out["sentence_disk_kb_per_passage"] = round((out["chroma_mb_with"] - out["chroma_mb_without"]) * 1024 / passages, 2)
    return out


def news_index(index: Path, sentences: list[str], questions: list[str], baseline: Path | None) -> None:
    """The targets on a real index (the 1,028 news articles, real e5): a new process's first German
    question, its retrieval apart from the model load; one article added; its rare word found at once."""
    settings = Settings(index_dir=index)
    rows = {"this checkout": first_retrieval(settings, questions[0])}
    if baseline:
        rows[str(baseline)] = first_retrieval(settings, questions[0], baseline)
    added = add_one(settings, sentences, 7_000_000 + int(time.time()) % 1_000_000, index.parent)
    store = open_store(settings, PassageEmbeddings.from_settings(settings))
    found = found_at_once(store, added["rare_word"])
    passages = Retriever(store, settings.top_k).run(f"Was hat {added['rare_word']} gemeldet?")
    result = {
        "passages": store.keywords.passage_count(),
        "first_question": rows,
        "add_one_article_s": added["add_one_article_s"],
        "found_by_keyword_at_once": found,
        "new_article_in_the_retrieved_passages": any(p.name == "neu.txt" for p in passages),
    }
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dir", type=Path, default=None, help="where the index grows (default: a temp folder)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sentences-at", type=int, default=10_000, help="0: skip the sentence-record cost")
    parser.add_argument("--bulk-above", type=int, default=100_000, help="grow past this size with big batches")
    parser.add_argument("--keep", action="store_true", help="keep the index")
    parser.add_argument(
        "--remeasure",
        action="store_true",
        help="instead: query the index in --dir again, start a new process on it, add one article",
    )
    parser.add_argument("--resume-from", type=int, default=0, help="grow the index in --dir that holds this many")
    parser.add_argument("--news-index", type=Path, help="instead: measure the targets on this real index")
    parser.add_argument("--baseline", type=Path, help="with --news-index: also a newsqa checkout to compare")
    args = parser.parse_args()
    if args.remeasure:
        settings = Settings(index_dir=args.dir / "index")
        embeddings = StandInEmbeddings.from_settings(settings)
        store = open_store(settings, embeddings)
        questions = [json.loads(line)["question_de"] for line in XQUAD_DEV.read_text(encoding="utf-8").splitlines()]
        questions = random.Random(0).sample(questions, min(args.queries, len(questions)))
        vectors = [embeddings.embed_query(q) for q in questions]
        query_times(store, settings, questions[:20], vectors[:20])  # warm: the first query loads the graph
        row = {"passages": store.keywords.passage_count(), **query_times(store, settings, questions, vectors)}
        row |= first_retrieval(settings, questions[0])
        added = add_one(settings, news_sentences(), 9_500_000 + row["passages"], args.dir)
        row["add_one_article_s"] = added["add_one_article_s"]
        row["new_article_found_at_once"] = found_at_once(store.fresh(), added["rare_word"])
        print(json.dumps(row))
        return
    if args.news_index:
        questions = [json.loads(line)["question_de"] for line in XQUAD_DEV.read_text(encoding="utf-8").splitlines()]
        news_index(args.news_index, news_sentences(), questions, args.baseline)
        return

    work = args.dir or Path(tempfile.mkdtemp(prefix="newsqa-scale-"))
    if not args.resume_from:
        shutil.rmtree(work / "index", ignore_errors=True)
    settings = Settings(index_dir=work / "index")
    sentences = news_sentences()
    log(f"{len(sentences):,} news sentences; index in {work}")
    questions = [json.loads(line)["question_de"] for line in XQUAD_DEV.read_text(encoding="utf-8").splitlines()]
    questions = random.Random(0).sample(questions, min(args.queries, len(questions)))
    embeddings = StandInEmbeddings.from_settings(settings)
    vectors = [embeddings.embed_query(q) for q in questions]

    rows: list[dict] = []
    extra = {}
    if args.sentences_at:
        log(f"sentence records' cost at {args.sentences_at:,} passages")
        extra = sentence_cost(sentences, args.sentences_at, work, settings)
        log(json.dumps(extra))

    store = open_store(settings, embeddings, create=True)
    done = args.resume_from
    with RssPeak() as peak:
        for size in sorted(n for n in args.sizes if n > done):
            log(f"growing the index to {size:,} passages")
            started = time.perf_counter()
            first, count = done // PASSAGES_PER_ARTICLE, (size - done) // PASSAGES_PER_ARTICLE
            bulk = size > args.bulk_above
            for chunk in range(first, first + count, 1000):
                (write_bulk if bulk else write)(
                    store, articles(sentences, chunk, min(1000, first + count - chunk), False)
                )
                if (chunk - first) % 10_000 == 0:
                    log(f"  {chunk * PASSAGES_PER_ARTICLE:,} passages")
            seconds = time.perf_counter() - started
            mark_changed(settings)
            row = {
                "passages": size,
                "written_by": "bulk" if bulk else "indexing API",
                "ingest_passages_per_s": round((size - done) / seconds),
            }
            done = size
            log("queries")
            store = store.fresh()
            row |= query_times(store, settings, questions, vectors)
            log("a new process's first retrieval")
            row |= first_retrieval(settings, questions[0])
            log("adding one article with newsqa ingest")
            added = add_one(settings, sentences, 9_000_000 + size, work)
            store = store.fresh()
            row["add_one_article_s"] = added["add_one_article_s"]
            row["new_article_found_at_once"] = found_at_once(store, added["rare_word"])
            row["chroma_mb"] = round(folder_mb(settings.index_dir / "chroma"), 1)
            row |= {f"{k}_mb": round(v, 1) for k, v in record_db_mb(settings.index_dir).items()}
            row["builder_peak_rss_mb"] = round(peak.mb)
            rows.append(row)
            log(json.dumps(row))

    print(f"\nnewsqa at scale (vectors: hashed-word stand-in of e5's 384 dimensions; questions: e5; {work})\n")
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + " --- |" * len(keys))
    for row in rows:
        print("| " + " | ".join(f"{row[k]:,}" if isinstance(row[k], int) else str(row[k]) for k in keys) + " |")
    if extra:
        print(f"\nsentence records at {args.sentences_at:,} passages: {extra}")
    print(json.dumps({"vectors": "stand-in (hashed words, 384-d)", "sizes": rows, "sentence_records": extra}))
    if not args.keep and not args.dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

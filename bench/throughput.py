"""Throughput on paper for the archive (issue 24): what one ingestion worker encodes a second, what the
shared write path takes a second, and the hours a million articles need with 1, 4 and 16 workers.

    .venv/bin/python bench/throughput.py [--articles 1000] [--grow-to 10000] [--backends server embedded]
                                         [--dir /tmp/newsqa-throughput] [--keep]

The deployment modelled (docs/scaling.md "Scaling out"): N `newsqa ingest` workers, one Chroma server, one
PostgreSQL record database. Each worker loads, chunks and encodes on its own; only a batch's write (the
Chroma upsert, its keyword and catalogue rows, its records) holds the record database's advisory lock
(rag.store.database.WriteLock), so N workers ingest at min(N x one worker's rate, 1 / locked seconds an
article). Measured here, on this machine, with servers this script starts (`chroma run`, and a throwaway
PostgreSQL cluster: tests/postgres.py):

1. **encoding**, one worker: the first ``--articles`` of ``../shared/data/news-10kgnad`` loaded and chunked
   as ``newsqa ingest`` does (default settings: passages and sentence records), then embedded by the
   default embedder (``PassageEmbeddings.from_settings``, onnx-int8) 64 records a call as the indexing
   path hands them over: tokens/s, records and tokens an article, articles/s;
2. **writing**, the same records with stand-in vectors (``bench.scale.StandInEmbeddings``, no encoder)
   through newsqa's write path (``ingest.indexing.index_articles`` with the write behind, as ingestion
   runs it) into (a) a Chroma server + PostgreSQL and (b) embedded Chroma + SQLite. The collection grows in
   segments of ``--articles`` up to ``--grow-to``: after the first segment the articles come again as
   copies with a source of their own and one made-up word in front of each record (so no two vectors are
   identical). Per segment: articles/s of one writer, the seconds the lock is held (what serializes) and
   how they split (Chroma upsert, keyword index, catalogue, records), the record lookups outside the lock,
   and the CPU seconds of the Chroma server's and PostgreSQL's processes. The split comes from timing
   newsqa's own methods (wrapped for the run, put back after), not from changing them;
3. **the model**: hours for 1,000,000 articles = max(articles / (N x worker articles/s), articles /
   serialized articles/s), at the last segment's rate (the largest collection measured) and, extrapolated,
   with the rate falling with the collection's size as it fell over the segments (a power law fitted to them).

On one machine the client, the Chroma server and PostgreSQL share the cores and talk over loopback, so a
write here has no network latency but competes for CPU. Prints tables and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chromadb.api.models.Collection import Collection  # noqa: E402
from langchain_core.documents import Document  # noqa: E402

from bench.common import NEWS_DIR, log, passage_token_counter  # noqa: E402
from bench.scale import StandInEmbeddings, rare_word  # noqa: E402
from ingest.chunking import chunk_article, sentence_documents  # noqa: E402
from ingest.indexing import EMBED_BATCH, index_articles, token_counter  # noqa: E402
from ingest.loading import load_file  # noqa: E402
from rag.models.embedding import PassageEmbeddings  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import SENTENCE, Records, Store, open_store  # noqa: E402
from rag.store.catalogue import Catalogue  # noqa: E402
from rag.store.database import WriteLock  # noqa: E402
from rag.store.tables import SearchTables  # noqa: E402
from tests.postgres import Cluster  # noqa: E402
from tests.rag.test_servers import ChromaServer  # noqa: E402

ARCHIVE = 1_000_000
WORKERS = (1, 4, 16)
#: What each backend keeps in the work folder.
FOLDERS = {"embedded": ["embedded"], "server": ["worker-1", "chroma-server", "chroma-server.log"]}
Article = list[Document]  # one article's passages and sentence records, as ingestion writes them


# --- the articles, as `newsqa ingest` makes them ---------------------------------------------------


def news_articles(count: int, settings: Settings) -> tuple[list[Article], float]:
    """The first ``count`` news articles loaded and chunked as ingestion does; and the seconds that took."""
    paths = sorted(NEWS_DIR.glob("*.txt"))[:count]
    if len(paths) < count:
        raise SystemExit(f"--articles {count}: {NEWS_DIR} holds only {len(paths)} articles")
    count_tokens = token_counter(settings)
    count_tokens("Tokenizer laden")  # loaded before the clock starts: once per worker, not per article
    started = time.perf_counter()
    out = []
    for path in paths:
        for article in load_file(path)[0]:
            chunks = chunk_article(article, count_tokens, settings)
            out.append(chunks + (sentence_documents(article, chunks) if settings.sentence_vectors else []))
    return out, time.perf_counter() - started


def copies(articles: list[Article], number: int) -> list[Article]:
    """Copy ``number`` of the articles (0: the articles): their own sources, one made-up word before each record."""
    if number == 0:
        return articles
    word = rare_word(number)
    out = []
    for docs in articles:
        source = f"/bench/throughput/copy-{number:05d}/{docs[0].metadata['name']}"
        out.append([Document(f"{word} {d.page_content}", metadata={**d.metadata, "source": source}) for d in docs])
    return out


def whole_article_batches(articles: list[Article]) -> Iterator[list[Document]]:
    """At least ``EMBED_BATCH`` records a batch, never an article split: what ingestion hands to index_articles."""
    batch: list[Document] = []
    for docs in articles:
        batch += docs
        if len(batch) >= EMBED_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


# --- 1. encoding -----------------------------------------------------------------------------------


def encoding(articles: list[Article], prepare_s: float, settings: Settings) -> dict[str, Any]:
    """One worker's encoding of these articles' records with the default embedder, 64 records a call."""
    embeddings = PassageEmbeddings.from_settings(settings)
    started = time.perf_counter()
    embeddings.prepare()
    embeddings.embed_documents(["Das Modell wird geladen."])  # the first call's set-up is not per article
    load_s = time.perf_counter() - started
    texts = [d.page_content for docs in articles for d in docs]
    log(f"encoding {len(texts):,} records of {len(articles)} articles")
    started = time.perf_counter()
    for at in range(0, len(texts), EMBED_BATCH):
        embeddings.embed_documents(texts[at : at + EMBED_BATCH])
    encode_s = time.perf_counter() - started
    count = passage_token_counter(settings)
    tokens = sum(count(t) for t in texts)
    sentences = sum(d.metadata.get("kind") == SENTENCE for docs in articles for d in docs)
    n = len(articles)
    return {
        "embedder": f"{settings.embedding_backend}, batch {embeddings.batch_size}, pooling {embeddings.pooling}",
        "cores": os.cpu_count(),
        "articles": n,
        "passages_per_article": round((len(texts) - sentences) / n, 2),
        "sentence_records_per_article": round(sentences / n, 2),
        "tokens_per_article": round(tokens / n),
        "model_load_s": round(load_s, 2),
        "load_and_chunk_s": round(prepare_s, 2),
        "encode_s": round(encode_s, 2),
        "tokens_per_s": round(tokens / encode_s),
        "records_per_s": round(len(texts) / encode_s, 1),
        # Loading and chunking are the worker's too (tokenizing for the chunk sizes); the model load is not per article.
        "articles_per_s": round(n / (prepare_s + encode_s), 3),
    }


# --- 2. writing ------------------------------------------------------------------------------------


@contextmanager
def clocked(methods: dict[str, list[tuple[type, str]]], span: tuple[type, str]) -> Iterator[dict[str, float]]:
    """Seconds spent in these methods (summed over calls and threads) and, as ``"locked"``, between
    ``span``'s class's ``__enter__`` and ``__exit__``, while the block runs. The class attributes are wrapped
    and put back after: the calls do what they did."""
    spent: dict[str, float] = dict.fromkeys([*methods, span[1]], 0.0)
    undo: list[Callable[[], None]] = []

    def wrap(owner: type, attr: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        original = getattr(owner, attr)
        own = attr in vars(owner)
        setattr(owner, attr, make(original))
        undo.append(lambda: setattr(owner, attr, original) if own else delattr(owner, attr))

    def timed(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    spent[name] += time.perf_counter() - started

            return call

        return make

    for name, targets in methods.items():
        for owner, attr in targets:
            wrap(owner, attr, timed(name))
    starts = threading.local()  # a thread's open spans (its lock taken, not yet released)

    def enter(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any) -> Any:
            starts.__dict__.setdefault("stack", []).append(time.perf_counter())
            return original(self)

        return call

    def leave(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, *exc: object) -> Any:
            try:
                return original(self, *exc)
            finally:
                spent[span[1]] += time.perf_counter() - starts.stack.pop()

        return call

    wrap(span[0], "__enter__", enter)
    wrap(span[0], "__exit__", leave)
    try:
        yield spent
    finally:
        for put_back in reversed(undo):
            put_back()


def write_clock(store: Store) -> dict[str, list[tuple[type, str]]]:
    """The parts of a batch's write, and the record lookups LangChain's indexing API makes outside the lock."""
    keywords = type(store.keywords)
    return {
        "chroma_upsert": [(Collection, "upsert")],
        "keyword_index": [(keywords, "write")],
        "catalogue": [(Catalogue, "write"), (Catalogue, "recount"), (keywords, "passages_per_article")],
        "tables": [(SearchTables, "add")],  # keyword index + catalogue + their transaction
        "records": [(Records, "record")],
        "lookups_unlocked": [(Records, "exists"), (Records, "list_keys")],
        "stand_in_vectors": [(StandInEmbeddings, "embed_documents")],
    }


def tree_cpu_s(pid: int | None) -> float:
    """CPU seconds of a process and all its descendants, the ones already reaped included (0 without one)."""
    if pid is None:
        return 0.0
    parents, own = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
        own[int(entry.name)] = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    tree, todo = set(), [pid]
    while todo:
        node = todo.pop()
        tree.add(node)
        todo += [child for child, parent in parents.items() if parent == node and child not in tree]
    return sum(own.get(node, 0) for node in tree) / os.sysconf("SC_CLK_TCK")


def write_segment(store: Store, articles: list[Article], servers: dict[str, int | None]) -> dict[str, Any]:
    """Write these articles as ingestion does (each batch's write behind the next batch); what it cost."""
    records_before = store.count()
    cpu_before = {name: tree_cpu_s(pid) for name, pid in servers.items()}
    with clocked(write_clock(store), (WriteLock, "locked")) as spent:
        client_cpu, started = time.process_time(), time.perf_counter()
        added = batches = 0
        with store.vectors.writing_behind():
            for batch in whole_article_batches(articles):
                added += index_articles(store, batch)[0]
                batches += 1
        wall = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
    n, locked = len(articles), spent["locked"]
    parts = ("chroma_upsert", "tables", "records")
    row: dict[str, Any] = {
        "records_before": records_before,
        "articles": n,
        "records": added,
        "articles_per_batch": round(n / batches, 2),  # one locked write each: its round trips are per batch
        "wall_s": round(wall, 2),
        "one_writer_articles_per_s": round(n / wall, 2),
        "one_writer_records_per_s": round(added / wall),
        "locked_s": round(locked, 2),
        "serialized_articles_per_s": round(n / locked, 2),
        "serialized_records_per_s": round(added / locked),
    }
    for name in (*parts, "keyword_index", "catalogue"):
        row[f"{name}_share"] = round(spent[name] / locked, 3)
    row["lock_and_rest_share"] = round(1 - sum(spent[p] for p in parts) / locked, 3)
    row["lookups_unlocked_s"] = round(spent["lookups_unlocked"], 2)
    row["stand_in_vectors_s"] = round(spent["stand_in_vectors"], 2)
    row["client_cpu_s_per_article"] = round((client_cpu - spent["stand_in_vectors"]) / n, 4)
    for name in servers:
        row[f"{name}_cpu_s_per_article"] = round((tree_cpu_s(servers[name]) - cpu_before[name]) / n, 4)
    return row


@contextmanager
def scale_out(work: Path) -> Iterator[tuple[Settings, dict[str, int | None]] | None]:
    """A Chroma server and a PostgreSQL database for one worker's settings (None without PostgreSQL)."""
    cluster = Cluster.start()
    if cluster is None:
        log("PostgreSQL's server programs are not installed: no Chroma server + PostgreSQL figures")
        yield None
        return
    chroma = ChromaServer(work / "chroma-server")
    try:
        chroma.start()
        settings = Settings(
            chroma_host="127.0.0.1",
            chroma_port=chroma.port,
            record_db_url=cluster.new_database(),
            index_dir=work / "worker-1",
        )
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        yield settings, {"chroma_server": chroma.process.pid if chroma.process else None, "postgres": postmaster}
    finally:
        chroma.stop()
        cluster.stop()


def writing(backend: str, articles: list[Article], grow_to: int, work: Path) -> list[dict[str, Any]]:
    """The write segments of one backend, the collection growing from empty to ``grow_to`` articles."""
    for old in FOLDERS[backend]:  # a run before, in the same --dir
        if (work / old).is_dir():
            shutil.rmtree(work / old)
        (work / old).unlink(missing_ok=True)
    deployment: Any = nullcontext((Settings(index_dir=work / "embedded"), {}))
    if backend == "server":
        deployment = scale_out(work)
    rows = []
    with deployment as opened:
        if opened is None:
            return []
        settings, servers = opened
        store = open_store(settings, StandInEmbeddings.from_settings(settings), create=True)
        for number in range(max(1, grow_to // len(articles))):
            row = {"backend": backend, "segment": number + 1}
            row |= write_segment(store, copies(articles, number), servers)
            log(json.dumps(row))
            rows.append(row)
    return rows


# --- 3. the model ----------------------------------------------------------------------------------


def falling_rate(rows: list[dict[str, Any]], articles: int) -> tuple[float, float]:
    """The serialized rate over a whole ``articles``-article build if it keeps falling with the collection's
    size as it fell over the measured segments, and the exponent: rate = c * size ** -k, fitted by least
    squares on logs (size: articles in the collection halfway through a segment). Extrapolated, not measured."""
    sizes, rates, before = [], [], 0
    for row in rows:
        sizes.append(math.log(before + row["articles"] / 2))
        rates.append(math.log(row["serialized_articles_per_s"]))
        before += row["articles"]
    k = 0.0
    if len(rows) > 1:
        mean_size, mean_rate = sum(sizes) / len(sizes), sum(rates) / len(rates)
        slope = sum((x - mean_size) * (y - mean_rate) for x, y in zip(sizes, rates))
        slope /= sum((x - mean_size) ** 2 for x in sizes)
        k = max(0.0, -slope)  # a rate that rose with the size is taken as constant, not as rising
    log_c = sum(rates) / len(rates) + k * sum(sizes) / len(sizes)
    # Seconds = integral over a from 0 to `articles` of a ** k / c.
    seconds = articles ** (k + 1) / ((k + 1) * math.exp(log_c))
    return articles / seconds, k


def model(worker_rate: float, write_rate: float, label: str) -> list[dict[str, Any]]:
    """Hours for the archive with 1, 4 and 16 workers, and which part binds."""
    out = []
    for workers in WORKERS:
        encode_h = ARCHIVE / (workers * worker_rate) / 3600
        write_h = ARCHIVE / write_rate / 3600
        out.append(
            {
                "write_rate": label,
                "workers": workers,
                "encoding_h": round(encode_h, 1),
                "serialized_writes_h": round(write_h, 1),
                "hours": round(max(encode_h, write_h), 1),
                "binds": "encoding" if encode_h >= write_h else "serialized writes",
            }
        )
    return out


def table(title: str, rows: list[dict[str, Any]], keys: list[str] | None = None) -> None:
    """A markdown table of these rows (the keys of all of them, or ``keys``; "-" where a row has none)."""
    if not rows:
        return
    keys = keys or list(dict.fromkeys(k for row in rows for k in row))
    print(f"\n{title}\n\n| " + " | ".join(keys) + " |\n|" + " --- |" * len(keys))
    for row in rows:
        cells = (f"{row[k]:,}" if isinstance(row.get(k), int) else str(row.get(k, "-")) for k in keys)
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000, help="news articles encoded, and a write segment")
    parser.add_argument("--grow-to", type=int, default=10_000, help="articles in the collection at the end")
    parser.add_argument("--backends", nargs="+", choices=["server", "embedded"], default=["server", "embedded"])
    parser.add_argument("--dir", type=Path, default=None, help="where the indexes go (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the indexes")
    args = parser.parse_args()
    command = " ".join([".venv/bin/python bench/throughput.py", *sys.argv[1:]])
    work = args.dir or Path(tempfile.mkdtemp(prefix="newsqa-throughput-"))
    work.mkdir(parents=True, exist_ok=True)  # only this script's folders in it are replaced
    settings = Settings(index_dir=work / "unused")  # the defaults, as `newsqa ingest` runs with them

    articles, prepare_s = news_articles(args.articles, settings)
    encoded = encoding(articles, prepare_s, settings)
    log(json.dumps(encoded))
    writes = {backend: writing(backend, articles, args.grow_to, work) for backend in args.backends}

    binding = writes.get("server") or writes.get("embedded") or []
    models: list[dict[str, Any]] = []
    extrapolated: dict[str, float | int] = {}
    if binding:
        last = binding[-1]
        models += model(encoded["articles_per_s"], last["serialized_articles_per_s"], "last segment's, constant")
        rate, k = falling_rate(binding, ARCHIVE)
        per_article = encoded["passages_per_article"] + encoded["sentence_records_per_article"]
        extrapolated = {
            "falling_serialized_articles_per_s": round(rate, 2),
            "k": round(k, 3),
            "largest_measured_collection_records": last["records_before"] + last["records"],
            "archive_collection_records": round(ARCHIVE * per_article),
        }
        models += model(encoded["articles_per_s"], rate, f"falling as measured (size ** -{k:.2f}), extrapolated")

    print(f"\nnewsqa ingestion throughput, measured here ({os.cpu_count()} cores): {command}")
    table("1. One worker's encoding (measured)", [encoded])
    segments = [r for rows in writes.values() for r in rows]
    rates = [k for k in segments[0] if not k.endswith(("_share", "_per_article"))] if segments else []
    table("2a. Writes with stand-in vectors, per segment (measured)", segments, rates)
    where = ["backend", "segment", *(k for k in dict.fromkeys(k for r in segments for k in r) if k not in rates)]
    table("2b. Where the locked time goes, and CPU seconds an article (measured)", segments, where)
    table(f"3. Hours for {ARCHIVE:,} articles ({binding[0]['backend'] if binding else '-'}; extrapolated)", models)
    result = {"command": command, "encoding": encoded, "writes": writes, "model": models, **extrapolated}
    print(json.dumps(result))
    if not args.keep and not args.dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

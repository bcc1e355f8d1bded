"""Embedded Chroma vs. a Chroma server on loopback: ingestion throughput and query latency, same data.

    python bench/server_vs_embedded.py [--limit 100] [--queries 100]

Ingests the first ``--limit`` articles of ../shared/data/news-10kgnad/ once into an embedded index
and once through ``chroma run`` (started here, on a free loopback port), with the same newsqa code
and settings otherwise; then asks ``--queries`` questions (article headlines) of both. Query latency
is reported twice: the whole retrieval (question embedding + search) and the vector search alone
(with a precomputed query vector), so the store's share is visible. Figures for the server are
given as ratios against the embedded store measured in the same run. Prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.indexing import ingest  # noqa: E402
from rag.models.embedding import get_embeddings  # noqa: E402
from rag.retrieval.retrieving import Retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import open_store  # noqa: E402

NEWS = ROOT.parent / "shared" / "data" / "news-10kgnad"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_chroma(path: Path, port: int) -> subprocess.Popen:
    chroma = Path(sys.executable).with_name("chroma")
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError("chroma run did not come up")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(settings: Settings, corpus: Path, queries: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    report = ingest([corpus], settings, show_bar=False)
    ingest_s = time.perf_counter() - started
    embeddings = get_embeddings(settings)
    store = open_store(settings, embeddings)
    retriever = Retriever(store, settings.top_k)
    retriever.run(queries[0])  # warm: first search loads the HNSW segment
    # The question vectors of the other store's run must not come from the embedder's query cache.
    getattr(embeddings, "_queries", {}).clear()
    whole, search = [], []
    for query in queries:
        t0 = time.perf_counter()
        retriever.run(query)
        whole.append((time.perf_counter() - t0) * 1000)
    vectors = [embeddings.embed_query(q) for q in queries]
    collection = store.vectors._collection
    for vector in vectors:
        t0 = time.perf_counter()
        collection.query(query_embeddings=[vector], n_results=settings.top_k)
        search.append((time.perf_counter() - t0) * 1000)
    return {
        "chunks": report.added,
        "ingest_s": ingest_s,
        "chunks_per_s": report.added / ingest_s,
        "retrieve_ms_p50": statistics.median(whole),
        "retrieve_ms_p95": percentile(whole, 0.95),
        "search_ms_p50": statistics.median(search),
        "search_ms_p95": percentile(search, 0.95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=100, help="articles to ingest (default 100)")
    parser.add_argument(
        "--queries", type=int, default=100, help="questions to time, at most one per article (default 100)"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsqa-bench-"))
    corpus = work / "corpus"
    corpus.mkdir()
    articles = sorted(NEWS.glob("*.txt"))[: args.limit]
    for article in articles:
        shutil.copy(article, corpus / article.name)
    queries = [a.read_text(encoding="utf-8").split("\n", 1)[0][:200] for a in articles]
    # Distinct questions only: a repeated one could be answered from a cache, not the store.
    queries = queries[: args.queries]

    base = Settings()
    # Load the embedding model before timing: otherwise the first store measured pays for it.
    get_embeddings(base).embed_documents(["warm-up passage"])
    results: dict[str, dict[str, float]] = {}
    results["embedded"] = measure(base.model_copy(update={"index_dir": work / "embedded"}), corpus, queries)
    port = free_port()
    server = start_chroma(work / "server-data", port)
    try:
        server_settings = base.model_copy(
            update={"index_dir": work / "server-records", "chroma_host": "127.0.0.1", "chroma_port": port}
        )
        results["server"] = measure(server_settings, corpus, queries)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    embedded, remote = results["embedded"], results["server"]
    print(f"{len(articles)} articles, {len(queries)} queries, {os.cpu_count()} cores")
    print(f"{'':22}{'embedded':>12}{'server':>12}{'server/embedded':>18}")
    for key in embedded:
        ratio = remote[key] / embedded[key] if embedded[key] else float("nan")
        print(f"{key:22}{embedded[key]:12.2f}{remote[key]:12.2f}{ratio:18.2f}")
    ratios = {key: round(remote[key] / embedded[key], 3) for key in embedded if embedded[key]}
    print(json.dumps({"articles": len(articles), "queries": len(queries), **results, "server_over_embedded": ratios}))


if __name__ == "__main__":
    main()

"""HNSW memory per 10k 384-d vectors in Chroma (embedded), extrapolated to millions.

    python bench/hnsw_memory.py [--vectors 10000]

Random unit vectors stand in for e5 embeddings (the index cost depends on count and dimension,
not on the values). Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vectors", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=384)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    data = rng.standard_normal((args.vectors, args.dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    tmp = Path(tempfile.mkdtemp())
    try:
        client = chromadb.PersistentClient(path=str(tmp), settings=ChromaSettings(anonymized_telemetry=False))
        collection = client.create_collection("bench", configuration={"hnsw": {"space": "cosine"}})
        before = rss_mb()
        start = time.perf_counter()
        for i in range(0, args.vectors, 1000):
            block = data[i : i + 1000]
            collection.add(
                ids=[str(j) for j in range(i, i + len(block))],
                embeddings=block,
                documents=["x" * 600] * len(block),
                metadatas=[{"source": "a"}] * len(block),
            )
        added_s = time.perf_counter() - start
        collection.query(query_embeddings=data[:1], n_results=4)
        query_ms = []
        for q in data[:200]:
            t = time.perf_counter()
            collection.query(query_embeddings=[q], n_results=4)
            query_ms.append((time.perf_counter() - t) * 1000)
        grew = rss_mb() - before
        disk = folder_mb(tmp)
        per_million = grew * 1_000_000 / args.vectors
        result = {
            "vectors": args.vectors,
            "dim": args.dim,
            "rss_growth_mb": round(grew, 1),
            "disk_mb": round(disk, 1),
            "add_per_s": round(args.vectors / added_s),
            "query_ms_p50": round(float(np.median(query_ms)), 2),
            "raw_vectors_mb": round(args.vectors * args.dim * 4 / 2**20, 1),
            "rss_mb_per_million_extrapolated": round(per_million),
            "disk_gb_per_10_million_extrapolated": round(disk * 10_000_000 / args.vectors / 1024, 1),
        }
        for key, value in result.items():
            print(f"{key:38} {value}")
        print(json.dumps(result))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Adding one article to a big ingested folder: the whole `newsqa ingest FOLDER` command, this checkout
against a baseline checkout, in one run.

    .venv/bin/python bench/add_one.py [--baseline ../main] [--news] [--small 100000] [--rounds 3]
                                      [--dir /tmp/newsqa-add-one] [--small-baseline-rounds 1]

Two folders (made in ``--dir`` and reused from there by a later run):

- ``news``: the 1,028 news articles (``../shared/data/news-10kgnad``, copied, never into corpus/), ingested
  once with the real e5 model;
- ``small-N``: N small files (a title and two sentences of those articles each), ingested once in this
  process with **stand-in vectors** (``bench.scale.StandInEmbeddings``: e5's identity and dimension,
  hashed-word vectors; e5 would need hours on two cores for 100,000 files). The measured commands embed
  the added article with the real e5.

For each folder, ``--rounds`` times, each checkout in turn: the index is restored from its snapshot,
one new article is copied into the folder, ``newsqa ingest FOLDER`` runs as a user runs it (a process
of its own, imports and model load included), then a new process's first retrieval of a German
question (``bench.scale.first_retrieval``: imports, opening, e5, the retrieval), and the article is
removed again. Prints the medians and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ingest.indexing as indexing  # noqa: E402
from bench.common import NEWS_DIR, ROOT, XQUAD_DEV, log  # noqa: E402
from bench.scale import StandInEmbeddings, first_retrieval, ingest_command, news_sentences  # noqa: E402
from rag.settings import Settings  # noqa: E402

NEW_ARTICLE = "zz-neu-{round}.txt"


def news_folder(work: Path) -> Path:
    folder = work / "news"
    if not folder.exists():
        folder.mkdir(parents=True)
        for path in sorted(NEWS_DIR.glob("*.txt")):
            shutil.copy2(path, folder / path.name)
    return folder


def small_folder(work: Path, count: int, sentences: list[str]) -> Path:
    """``count`` small articles, 1,000 to a subfolder (a title and two sentences each)."""
    folder = work / f"small-{count}"
    if not folder.exists():
        partial = work / f"small-{count}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        rng = random.Random(count)
        for number in range(count):
            sub = partial / f"{number // 1000:03d}"
            sub.mkdir(parents=True, exist_ok=True)
            text = f"Meldung {number}\n{rng.choice(sentences)} {rng.choice(sentences)}\n"
            (sub / f"meldung-{number:06d}.txt").write_text(text, encoding="utf-8")
        partial.rename(folder)
    return folder


def build(folder: Path, index: Path, stand_in: bool) -> float:
    """Ingest ``folder`` into ``index`` once (kept with a snapshot beside it); the seconds it took.

    An index already there (an earlier build killed half-way) is completed, not rebuilt.
    """
    snap = index.with_name(index.name + ".snap")
    if snap.exists():
        return 0.0
    settings = Settings(index_dir=index)
    if stand_in:
        # This process only, the build: stand-in vectors, and 2,000 chunks a write instead of 64 (the
        # indexing path's overhead per write, not the vectors, is what bounds a build of small files).
        indexing.get_embeddings = StandInEmbeddings.from_settings
        indexing.EMBED_BATCH = 2000
    started = time.perf_counter()
    report = indexing.ingest([folder], settings, show_bar=False)
    seconds = time.perf_counter() - started
    log(f"built {index}: {report.summary()}")
    shutil.copytree(index, snap, symlinks=True)
    return seconds


def restore(index: Path) -> None:
    shutil.rmtree(index, ignore_errors=True)
    shutil.copytree(index.with_name(index.name + ".snap"), index, symlinks=True)


def measure(
    folder: Path, index: Path, codes: dict[str, Path], rounds: dict[str, int], question: str
) -> dict[str, dict]:
    """Add one article ``rounds[name]`` times per checkout (in turns, from the same snapshot); medians."""
    settings = Settings(index_dir=index)
    article = sorted(NEWS_DIR.glob("*.txt"))[7]
    runs: dict[str, list[dict]] = {name: [] for name in codes}
    for round_ in range(max(rounds.values())):
        for name, code in codes.items():
            if round_ >= rounds[name]:
                continue
            restore(index)
            added = folder / NEW_ARTICLE.format(round=round_)
            shutil.copy(article, added)
            try:
                seconds, line = ingest_command(code, folder, settings)
                row = {"add_one_s": round(seconds, 2), "report": line}
                row |= first_retrieval(settings, question, code)
                again, line = ingest_command(code, folder, settings)
                row |= {"unchanged_again_s": round(again, 2), "again_report": line}
            finally:
                added.unlink()
            log(f"{folder.name} round {round_ + 1}, {name}: {json.dumps(row)}")
            runs[name].append(row)
    out = {}
    for name, rows in runs.items():
        keys = [k for k, v in rows[0].items() if isinstance(v, (int, float))]
        out[name] = {k: statistics.median(r[k] for r in rows) for k in keys} | {"report": rows[-1]["report"]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="another newsqa checkout to measure in the same run")
    parser.add_argument("--news", action="store_true", help="the 1,028 news articles")
    parser.add_argument("--small", type=int, default=0, help="a folder of this many small files")
    parser.add_argument("--small-baseline-rounds", type=int, default=1, help="the baseline's rounds on small files")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/newsqa-add-one"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    question = json.loads(XQUAD_DEV.read_text(encoding="utf-8").splitlines()[0])["question_de"]
    codes = {"this checkout": ROOT}
    if args.baseline:
        codes = {f"baseline {args.baseline}": args.baseline.resolve()} | codes
    result: dict[str, dict] = {}
    if args.news:
        folder = news_folder(args.dir)
        built = build(folder, args.dir / "index-news", stand_in=False)
        result["news"] = {"files": 1028, "build_s": round(built, 1)}
        rounds = dict.fromkeys(codes, args.rounds)
        result["news"] |= measure(folder, args.dir / "index-news", codes, rounds, question)
    if args.small:
        folder = small_folder(args.dir, args.small, news_sentences())
        built = build(folder, args.dir / f"index-small-{args.small}", stand_in=True)
        rounds = {name: args.rounds if code == ROOT else args.small_baseline_rounds for name, code in codes.items()}
        result["small"] = {"files": args.small, "build_s": round(built, 1)}
        result["small"] |= measure(folder, args.dir / f"index-small-{args.small}", codes, rounds, question)
    for folder, rows in result.items():
        print(f"\n{folder}: {rows['files']:,} files")
        for name, row in rows.items():
            if isinstance(row, dict):
                print(f"  {name}: {json.dumps(row)}")
    print(json.dumps({"cpu_count": os.cpu_count(), **result}))


if __name__ == "__main__":
    main()

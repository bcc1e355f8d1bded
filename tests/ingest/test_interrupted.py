"""Ingestion killed with SIGKILL at a random moment, then run again, ends exactly like a clean one.

The victim is a real ``newsqa ingest`` subprocess on ~60 generated German news articles (about 360
chunks, six embedding batches). Kill points are timing-based, never a hook in the product: each is
anchored on the ingestion's own progress as seen from outside (the writer lock taken, or a share of
the reference chunk count visible in the record manager's SQLite file) plus a random delay; the seed
is in every failure message. After the kill, ``ingest`` runs again (in-process: the recovery path is
the same code, and it saves a second model load) and the index must hold exactly the chunks of a
clean ingestion into a separate index: the same set of (source, start, end, kind, text), no duplicate, none
missing, every chunk findable by vector search, the record manager's keys equal to the collection's
ids, and the keyword index and articles catalogue holding exactly the collection's passages.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from ingest.indexing import ingest
from rag.models.embedding import get_embeddings
from rag.retrieval.catalog import list_articles
from rag.settings import Settings
from rag.store import SENTENCE, open_store
from tests.conftest import ROOT

ARTICLES = 60
# Small chunks: six embedding batches of 64 in ~10 s, so kill points land between and inside them.
CHUNK_TOKENS = 32
SEED = random.randrange(1_000_000)

CITIES = ["Wien", "Graz", "Linz", "Salzburg", "Innsbruck", "Klagenfurt", "Bregenz", "Eisenstadt", "Villach", "Wels"]
WHO = ["Der Gemeinderat", "Die Feuerwehr", "Die Polizei", "Die Stadtwerke", "Die Universität", "Das Landesspital"]
DID = ["meldete", "zählte", "beschloss", "prüfte", "plante", "verschob"]
WHAT = ["Einsätze", "Anzeigen", "Projekte", "Baustellen", "Anträge", "Stellen"]

Chunk = tuple[str, int, int, str, str]  # source, start, end, kind (passage or sentence), text


def news_article(number: int, rng: random.Random) -> str:
    """A short German news-like article: a headline and three paragraphs of two sentences."""
    city = rng.choice(CITIES)
    lines = [f"{rng.choice(WHO)} in {city} zieht Bilanz ({number})"]
    for _ in range(3):
        lines.append(
            " ".join(
                f"{rng.choice(WHO)} {rng.choice(DID)} {rng.randint(2, 9999)} {rng.choice(WHAT)} in {city}."
                for _ in range(2)
            )
        )
    return "\n".join(lines) + "\n"


def write_news(folder: Path, seed: int = 7) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for number in range(ARTICLES):
        (folder / f"artikel-{number:03d}.txt").write_text(news_article(number, rng), encoding="utf-8")
    return folder


def small_chunk_settings(index_dir: Path, model_dir: Path) -> Settings:
    return Settings(index_dir=index_dir, model_dir=model_dir, chunk_tokens=CHUNK_TOKENS)


def index_state(settings: Settings) -> set[Chunk]:
    """The index's chunks, after checking it has no duplicates and agrees with its record manager."""
    store = open_store(settings, get_embeddings(settings))
    got = store.collection.get(include=["documents", "metadatas"])
    ids = got["ids"]
    assert len(ids) == len(set(ids)), "duplicate ids in the collection"
    chunks = [
        (m["source"], m["start"], m["end"], m.get("kind", "passage"), text)
        for text, m in zip(got["documents"], got["metadatas"])
    ]
    assert len(chunks) == len(set(chunks)), "the same passage is stored twice"
    keys = set(store.records.list_keys())
    assert keys == set(ids), (
        f"record manager and collection disagree: {len(keys - set(ids))} records without a vector, "
        f"{len(set(ids) - keys)} vectors without a record"
    )
    passages = Counter(m["source"] for m in got["metadatas"] if m.get("kind") != SENTENCE)
    with sqlite3.connect(settings.index_dir / "records.sqlite") as conn:
        indexed = conn.execute(f"SELECT id, source FROM {store.keywords.prefix}_passages").fetchall()
    want = {(key, m["source"]) for key, m in zip(ids, got["metadatas"]) if m.get("kind") != SENTENCE}
    assert set(indexed) == want and len(indexed) == len(want), (
        f"keyword index and collection disagree: {len(set(indexed) - want)} extra, {len(want - set(indexed))} missing"
    )
    assert store.keywords.passage_count() == len(want)
    with sqlite3.connect(settings.index_dir / "records.sqlite") as conn:
        texts = [t for (t,) in conn.execute(f"SELECT terms FROM {store.keywords.prefix}_fts")]
        counted = dict(conn.execute(f"SELECT term, passages FROM {store.keywords.prefix}_terms WHERE passages > 0"))
    assert counted == Counter(term for text in texts for term in set(text.split())), "term counts are off"
    catalogue = {a.source: a.chunks for a in list_articles(store)}
    assert catalogue == dict(passages), "the articles catalogue does not match the collection"
    return set(chunks)


def recorded_chunks(index_dir: Path) -> int | None:
    """How many chunks the record manager lists, read from outside; None if it cannot tell now."""
    db = index_dir / "records.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM upsertion_record").fetchone()[0]
    except sqlite3.Error:  # table not created yet, or busy for a moment: ask again on the next poll
        return None


def lock_taken(index_dir: Path) -> bool:
    lock = index_dir / "ingest.lock"
    return lock.exists() and lock.read_text().startswith("pid")


def ingest_until_killed(settings: Settings, folder: Path, share: float | None, delay: float, total: int) -> str:
    """Run ``newsqa ingest`` and SIGKILL it ``delay`` s after it reached ``share`` of ``total`` chunks.

    ``share=0`` anchors on the first change in the record manager, ``share=None`` on the writer
    lock (before anything is written). Returns what happened, for failure messages.
    """
    env = {
        **os.environ,
        "NEWSQA_INDEX_DIR": str(settings.index_dir),
        "NEWSQA_MODEL_DIR": str(settings.model_dir),
        "NEWSQA_CHUNK_TOKENS": str(CHUNK_TOKENS),
    }
    log = settings.index_dir.parent / f"ingest-{time.monotonic_ns()}.log"
    with log.open("w") as stderr:
        victim = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "ingest", str(folder), "--quiet"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            at_start = None
            while at_start is None:
                at_start = recorded_chunks(settings.index_dir)
            target = at_start + (share or 0) * (total - at_start)

            def anchored() -> bool:
                if share is None:
                    return lock_taken(settings.index_dir)
                now = recorded_chunks(settings.index_dir)
                if now is None:
                    return False
                return now != at_start if share == 0 else now >= max(target, 1)

            deadline = time.monotonic() + 180
            while victim.poll() is None and time.monotonic() < deadline and not anchored():
                time.sleep(0.02)
            time.sleep(delay)
            finished = victim.poll() is not None
        finally:
            victim.kill()
            victim.wait(timeout=60)
    seen = recorded_chunks(settings.index_dir)
    assert not finished or victim.returncode == 0, log.read_text()
    return (
        f"killed {delay:.2f} s after {'the lock' if share is None else f'{share:.0%} of the chunks'}: "
        f"{at_start} -> {seen} chunks recorded (of {total}){' (it had already finished)' if finished else ''}"
    )


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_news(tmp_path_factory.mktemp("interrupted") / "news")


@pytest.fixture(scope="module")
def reference(news: Path, tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> set[Chunk]:
    """The chunks of a clean, uninterrupted ingestion of the same folder into its own index."""
    settings = small_chunk_settings(tmp_path_factory.mktemp("reference") / "index", model_dir)
    report = ingest([news], settings, show_bar=False)
    assert report.articles == ARTICLES and not report.skipped
    chunks = index_state(settings)
    assert len(chunks) == report.records and report.chunks > 5 * 64, "too few chunks for several embedding batches"
    return chunks


KILLS = {
    # (share of the chunks recorded before the countdown starts or None for "lock taken", max delay s)
    "before-any-write": [(None, 2.0)],
    "first-batches": [(0.0, 0.5)],
    "half-way": [(0.5, 0.5)],
    "twice": [(0.2, 0.5), (0.7, 0.5)],
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(KILLS))
def test_a_killed_ingestion_run_again_ends_like_a_clean_one(case, news, reference, tmp_path, model_dir):
    settings = small_chunk_settings(tmp_path / "index", model_dir)
    rng = random.Random(f"{SEED}-{case}")
    story = [f"seed {SEED}"]
    for share, max_delay in KILLS[case]:
        story.append(ingest_until_killed(settings, news, share, rng.uniform(0, max_delay), len(reference)))

    resumed = ingest([news], settings, show_bar=False)
    story.append(f"resumed: {resumed.summary()}")
    print("; ".join(story))  # shown with -s or -rP: where the kills landed
    state = index_state(settings)
    assert state == reference, (
        f"{'; '.join(story)}: {len(reference - state)} chunks missing, {len(state - reference)} extra"
    )
    assert resumed.added + resumed.unchanged == len(reference), "; ".join(story)

    # The vectors are really there, not just the metadata: each passage finds itself.
    store = open_store(settings, get_embeddings(settings))
    for source, start, _end, _kind, text in random.Random(SEED).sample(sorted(reference), 3):
        # Among the nearest few, not necessarily first: a text written twice (a sentence record beside
        # a passage of that one sentence) has one vector for both records, and HNSW is approximate — which
        # comes first depends on the order of the writes, which the kills change.
        hits = store.vectors.similarity_search(text, k=4)
        assert (source, start, text) in {(h.metadata["source"], h.metadata["start"], h.page_content) for h in hits}

    again = ingest([news], settings, show_bar=False)
    assert (again.added, again.deleted, again.unchanged) == (0, 0, len(reference)), "; ".join(story)


@pytest.mark.slow
def test_a_killed_reingestion_of_changed_articles_ends_like_a_clean_one(news, tmp_path, model_dir):
    """Killed while replacing changed articles' chunks (the cleanup deletes), then run again."""
    changed = tmp_path / "changed"
    write_news(changed, seed=7)
    clean = small_chunk_settings(tmp_path / "clean", model_dir)
    victim = small_chunk_settings(tmp_path / "victim", model_dir)
    ingest([changed], victim, show_bar=False)
    # A third of the articles change; the reference sees only the new versions.
    rng = random.Random(SEED)
    for path in sorted(changed.glob("*.txt"))[::3]:
        path.write_text(news_article(rng.randrange(1000, 2000), rng), encoding="utf-8")
    # And a few removed and a few new: the victim's run reads only the changed and new files (the
    # manifest's plan) and deletes the removed ones' chunks; killed anywhere in that, the next run
    # must still end like a clean one.
    for path in sorted(changed.glob("*.txt"))[1::20]:
        path.unlink()
    for number in range(ARTICLES, ARTICLES + 3):
        (changed / f"artikel-{number:03d}.txt").write_text(news_article(number, rng), encoding="utf-8")
    ingest([changed], clean, show_bar=False)
    reference = index_state(clean)

    story = [f"seed {SEED}", ingest_until_killed(victim, changed, 0.0, rng.uniform(0.5, 3.0), len(reference))]
    resumed = ingest([changed], victim, show_bar=False)
    story.append(f"resumed: {resumed.summary()}")
    print("; ".join(story))
    state = index_state(victim)
    assert state == reference, (
        f"{'; '.join(story)}: {len(reference - state)} chunks missing, {len(state - reference)} extra"
    )
    again = ingest([changed], victim, show_bar=False)
    assert (again.added, again.deleted, again.unchanged) == (0, 0, len(reference)), "; ".join(story)

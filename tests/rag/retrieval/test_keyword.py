"""BM25 keyword search over the on-disk keyword index: ranking, stemming, the article filter, and the
index kept in step with ingestion (changed and removed articles, an index made before it existed)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ingest.indexing import ingest
from rag.models.embedding import get_embeddings
from rag.retrieval.catalog import list_articles
from rag.retrieval.keyword import keyword_search
from rag.retrieval.retrieving import Retriever
from rag.settings import Settings
from rag.store import Store, open_store
from rag.text.terms import terms
from tests.conftest import newsqa, write_corpus

ARTICLES = {
    "hochwasser.txt": "Hochwasser\nDie Feuerwehr rettete 300 Menschen aus dem Hochwasser in Linz.",
    "graz.txt": "Bahnhof\nDer Bürgermeister von Graz eröffnete den neuen Bahnhof.",
    "nordkorea.txt": "Soldaten\nDie Soldaten kehrten nach Nordkorea zurück; 4.000 Soldaten wurden getötet.",
    "wetter.txt": "Wetter\nMorgen Regen in Wien und Linz.",
}


def found(store: Store, query: str, k: int = 4, sources: set[str] | None = None) -> list[str]:
    """The file names of the passages keyword search finds, best first."""
    hits = keyword_search(store, query, k, sources)
    if not hits:
        return []
    names = store.collection.get(ids=[key for key, _ in hits], include=["metadatas"])
    by_id = {key: meta["name"] for key, meta in zip(names["ids"], names["metadatas"])}
    return [by_id[key] for key, _ in hits]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def news_index(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, model_dir: Path
) -> tuple[Settings, Path]:
    """The articles ingested once per record database: SQLite's FTS5 index, then PostgreSQL's."""
    root = tmp_path_factory.mktemp("keyword")
    url = request.getfixturevalue("postgres").new_database() if request.param == "postgres" else None
    settings = Settings(index_dir=root / "index", model_dir=model_dir, record_db_url=url)
    news = write_corpus(root / "news", ARTICLES)
    assert ingest([news], settings, show_bar=False).articles == len(ARTICLES)
    return settings, news


@pytest.fixture(scope="module")
def store(news_index) -> Store:
    settings, _ = news_index
    return open_store(settings, get_embeddings(settings))


def test_inflected_forms_meet_and_short_words_are_dropped():
    assert terms("Soldaten") == terms("Soldat") == ["soldat"]
    assert terms("Häuser") == terms("Haus")
    assert terms("a 12.000 Soldaten") == ["12", "000", "soldat"]


def test_the_passage_sharing_the_rare_words_ranks_first(store):
    ranked = keyword_search(store, "Wie viele Soldaten wurden getötet?", k=4)
    assert found(store, "Wie viele Soldaten wurden getötet?")[0] == "nordkorea.txt"
    assert all(a[1] >= b[1] for a, b in zip(ranked, ranked[1:]))


def test_with_common_words_left_out_the_rare_words_find_and_all_words_rank(store, monkeypatch):
    question = "Wie viele Soldaten wurden in Nordkorea getötet?"
    exact = dict(keyword_search(store, question, 4))
    # A big index: the first pass may only read the rarest word's passages, then all words rank them.
    monkeypatch.setattr(type(store.keywords), "posting_budget", 1)
    pruned = keyword_search(store, question, 4)
    assert found(store, question)[0] == "nordkorea.txt"
    assert [key for key, _ in pruned] == [key for key in exact if key in dict(pruned)]
    for key, score in pruned:  # the same BM25 as FTS5's own ranking
        assert score == pytest.approx(exact[key], rel=1e-4)


def test_a_rare_word_outweighs_a_common_one(store):
    # "Linz" is in two passages, "Feuerwehr" in one: the passage with both comes first.
    assert found(store, "Feuerwehr Linz", k=2)[0] == "hochwasser.txt"


def test_passages_without_a_query_word_are_not_returned(store):
    assert found(store, "Bahnhof") == ["graz.txt"]
    assert keyword_search(store, "Kathedrale", k=4) == []


def test_the_article_filter_keeps_only_those_articles(store, news_index):
    _, news = news_index
    assert found(store, "Linz", sources={str(news / "wetter.txt")}) == ["wetter.txt"]


def test_a_changed_or_removed_article_is_no_longer_found_by_its_old_words(settings, tmp_path):
    news = write_corpus(tmp_path / "news", ARTICLES)
    ingest([news], settings, show_bar=False)
    store = open_store(settings, get_embeddings(settings))
    assert found(store, "Bürgermeister") == ["graz.txt"]
    assert found(store, "Feuerwehr") == ["hochwasser.txt"]

    (news / "graz.txt").write_text("Bahnhof\nDie Landeshauptfrau eröffnete den neuen Bahnhof.", encoding="utf-8")
    (news / "hochwasser.txt").unlink()
    report = ingest([news], settings, show_bar=False)
    assert report.added >= 1 and report.deleted >= 2

    assert found(store, "Bürgermeister") == []
    assert found(store, "Feuerwehr") == []
    assert store.keywords.frequencies(terms("Bürgermeister Feuerwehr Bahnhof")) == {terms("Bahnhof")[0]: 1}
    assert found(store, "Landeshauptfrau") == ["graz.txt"]
    assert store.keywords.passage_count() == len(store.collection.get(where={"kind": {"$ne": "sentence"}})["ids"])


def test_an_index_made_before_the_keyword_tables_gets_them_filled_once(settings, tmp_path, caplog):
    ingest([write_corpus(tmp_path / "news", ARTICLES)], settings, show_bar=False)
    # What an index written by an earlier newsqa looks like: the record manager without the keyword tables.
    db = settings.index_dir / "records.sqlite"
    with sqlite3.connect(db) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'kw_%'")]
        for name in tables:
            conn.execute(f"DROP TABLE IF EXISTS {name}")

    with caplog.at_level("WARNING", logger="rag.store"):
        store = open_store(settings, get_embeddings(settings))
    assert "once" in caplog.text and "Indexed 4 passages" in caplog.text
    assert found(store, "Feuerwehr") == ["hochwasser.txt"]

    caplog.clear()
    with caplog.at_level("WARNING", logger="rag.store"):
        open_store(settings, get_embeddings(settings))
    assert caplog.text == ""  # filled once, not per process


def test_an_article_another_process_ingests_is_found_by_its_rare_words_at_once(settings, tmp_path):
    news = write_corpus(tmp_path / "news", ARTICLES)
    ingest([news], settings, show_bar=False)
    store = open_store(settings, get_embeddings(settings))  # this process keeps it open throughout
    retriever = Retriever(store, 1)
    question = "Was entdeckte die Forscherin Quirinella Zwetschkenbauer?"
    assert found(store, "Zwetschkenbauer") == []

    write_corpus(
        news, {"fund.txt": "Fund im Moor\nDie Forscherin Quirinella Zwetschkenbauer entdeckte ein Bronzeschwert."}
    )
    writer = newsqa("ingest", str(news), "--quiet", settings=settings)
    assert writer.returncode == 0, writer.stderr

    # Same process, same store object: nothing reopened, rebuilt or refreshed by hand.
    assert found(store, "Zwetschkenbauer") == ["fund.txt"]
    assert retriever.run(question)[0].name == "fund.txt"
    assert "fund.txt" in [a.name for a in list_articles(store)]

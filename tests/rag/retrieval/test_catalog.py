"""The catalogue of ingested articles, read from a real index."""

from __future__ import annotations

import json

from ingest.indexing import ingest
from rag.models.embedding import get_embeddings
from rag.retrieval.catalog import articles_of, count_articles, list_articles
from rag.store import PASSAGES_ONLY, open_store


def test_every_article_is_listed_once_with_its_chunks_title_and_date(settings, tmp_path):
    news = tmp_path / "news"
    news.mkdir()
    (news / "budget.txt").write_text(
        "Stadtrat beschließt Budget\nDer Stadtrat beschloss ein Budget von 5.000 Euro.", encoding="utf-8"
    )
    lines = [
        {
            "title": "Zebra im Zoo geboren",
            "text": "Im Tiergarten kam ein Zebra zur Welt. " * 40,
            "date": "2024-05-02",
            "url": "https://example.org/zebra",
        },
        {"title": "Alpenbahn fährt wieder", "text": "Die Alpenbahn fährt nach dem Unwetter wieder."},
    ]
    (news / "feed.jsonl").write_text(
        "\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8"
    )
    report = ingest([news], settings, show_bar=False)
    store = open_store(settings, get_embeddings(settings))

    articles = list_articles(store)

    assert [a.title for a in articles] == [
        "Alpenbahn fährt wieder",
        "Stadtrat beschließt Budget",
        "Zebra im Zoo geboren",
    ]
    assert sum(a.chunks for a in articles) == report.chunks and report.records == store.count()
    zebra = articles[2]
    assert zebra.chunks > 1 and zebra.date == "2024-05-02" and zebra.url == "https://example.org/zebra"
    assert zebra.source.endswith("feed.jsonl#1") and zebra.name == "feed.jsonl#1"
    assert articles[1].name == "budget.txt" and articles[1].date is None

    # found by words of the title as shown or of the file name, any case, every word
    assert [a.title for a in list_articles(store, matching="ZOO zebra")] == ["Zebra im Zoo geboren"]
    assert [a.name for a in list_articles(store, matching="budget.TXT")] == ["budget.txt"]
    assert count_articles(store, "fährt") == 1 and count_articles(store, "feed") == 2
    assert list_articles(store, matching="zebra wal") == [] and count_articles(store, "%") == 0
    assert [a.name for a in articles_of(store, [zebra.source, articles[1].source, "/gone.txt"])] == [
        "budget.txt",
        "feed.jsonl#1",
    ]


def test_a_later_ingestion_shows_up_in_the_list(settings, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    (first / "one.txt").write_text("Erster Artikel\nEin Text über Brücken.", encoding="utf-8")
    (second / "two.txt").write_text("Zweiter Artikel\nEin Text über Tunnel.", encoding="utf-8")
    ingest([first], settings, show_bar=False)
    store = open_store(settings, get_embeddings(settings))
    assert [a.name for a in list_articles(store)] == ["one.txt"]
    ingest([second], settings, show_bar=False)
    assert [a.name for a in list_articles(store)] == ["one.txt", "two.txt"]


def test_the_catalogue_is_read_in_pages_and_follows_changes_and_deletions(settings, tmp_path):
    news = tmp_path / "news"
    news.mkdir()
    for n in range(5):
        (news / f"a{n}.txt").write_text(f"Artikel {n}\nEin Bericht über die Brücke Nummer {n}.", encoding="utf-8")
    ingest([news], settings, show_bar=False)
    store = open_store(settings, get_embeddings(settings))
    assert count_articles(store) == 5
    pages = [list_articles(store, offset, 2) for offset in (0, 2, 4)]
    assert [[a.title for a in page] for page in pages] == [
        ["Artikel 0", "Artikel 1"],
        ["Artikel 2", "Artikel 3"],
        ["Artikel 4"],
    ]

    (news / "a1.txt").unlink()
    (news / "a3.txt").write_text("Zebra entlaufen\n" + "Ein Zebra lief durch die Stadt. " * 30, encoding="utf-8")
    ingest([news], settings, show_bar=False)
    articles = list_articles(store)
    assert [a.title for a in articles] == ["Artikel 0", "Artikel 2", "Artikel 4", "Zebra entlaufen"]
    passages = store.collection.get(where={"$and": [{"name": "a3.txt"}, PASSAGES_ONLY]})["ids"]
    assert articles[-1].chunks == len(passages) > 1
    assert count_articles(store) == 4

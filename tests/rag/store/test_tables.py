"""The keyword index and the catalogue: two sets of tables in the record manager's database, written
together; the same tests on SQLite (FTS5) and on PostgreSQL (``tsvector``, a throwaway cluster)."""

from __future__ import annotations

import pytest

from rag.store import Catalogue, KeywordIndex, PgKeywordIndex, open_records
from rag.store.tables import SearchTables

A, B = "/news/a.txt", "/news/b.txt"


def meta(source: str, title: str, **extra: object) -> dict[str, object]:
    return {"source": source, "name": source.rsplit("/", 1)[-1], "title": title, **extra}


@pytest.fixture
def tables(backend_settings) -> SearchTables:
    tables = SearchTables.open(open_records(backend_settings))
    assert not tables.exists()
    assert tables.create() == 0 and tables.exists()
    assert tables.create() == 0  # made once: a second call finds them
    return tables


def search(tables: SearchTables, question: str, k: int = 5, sources: set[str] | None = None) -> list[str]:
    """The ids the keyword index ranks for a question, best first (its terms as the index makes them)."""
    keywords = tables.keywords
    return [key for key, _ in keywords.search(keywords.query_terms(question), k, sources)]


def test_the_backend_is_the_record_database_s(tables, backend_settings):
    expected = PgKeywordIndex if backend_settings.record_db_url else KeywordIndex
    assert type(tables.keywords) is expected and isinstance(tables.catalogue, Catalogue)


def test_a_write_reaches_the_keyword_index_and_the_catalogue_and_a_delete_both(tables):
    keywords, catalogue = tables.keywords, tables.catalogue
    tables.add(
        ["a1", "a2", "b1", "b1-s"],
        ["Die Feuerwehr löschte den Brand.", "Der Bahnhof blieb gesperrt.", "Graz wählt heute.", "Graz wählt."],
        [
            meta(A, "Brand"),
            meta(A, "Brand am Bahnhof", date="2024-05-01"),
            meta(B, "Wahl"),
            meta(B, "Wahl", kind="sentence"),
        ],
    )
    assert keywords.passage_count() == 3  # the sentence record is not a passage
    assert search(tables, "Bahnhof") == ["a2"]
    bahnhof, graz = keywords.query_terms("Bahnhof"), keywords.query_terms("Graz")
    assert keywords.frequencies(keywords.query_terms("Bahnhof Graz Rom")) == {bahnhof[0]: 1, graz[0]: 1}
    # One row an article, with the metadata of its latest passage and its passage count.
    assert catalogue.articles() == [
        (A, "a.txt", "Brand am Bahnhof", "2024-05-01", None, 2),
        (B, "b.txt", "Wahl", None, None, 1),
    ]
    assert catalogue.count() == 2 and catalogue.count("wahl") == 1
    assert catalogue.sources_under(["/news"]) == [A, B] and catalogue.sources_under([B]) == [B]

    tables.delete(["a1"])
    assert [row[-1] for row in catalogue.articles_of([A])] == [1]
    tables.delete(["a2", "unknown"])
    assert catalogue.articles() == [(B, "b.txt", "Wahl", None, None, 1)]
    assert search(tables, "Bahnhof") == [] and keywords.stats()[0] == 1

    tables.add(["b1"], ["Rom wählt heute."], [meta(A, "Rom")])  # the same id again, now of another article
    assert [row[0] for row in catalogue.articles()] == [A]
    assert sorted(keywords.terms_of(["b1"])["b1"]) == sorted(keywords.query_terms("Rom wählt heute."))

    tables.clear()
    assert catalogue.count() == 0 and keywords.stats() == (0, 0)


GERMAN = {
    "de1": "Die Soldaten kehrten nach Nordkorea zurück; 4.000 Soldaten wurden getötet oder verwundet.",
    "de2": "Der Bürgermeister von Graz eröffnete den neuen Bahnhof.",
    "de3": "Die Feuerwehr rettete 300 Menschen aus dem Hochwasser in Linz.",
}
ENGLISH = {
    "en1": "The soldiers returned to North Korea after the fighting ended.",
    "en2": "The mayor of Graz opened the new railway station.",
}


def test_keyword_search_finds_inflected_forms_in_german_and_english_and_ranks_rare_words_first(tables):
    texts = GERMAN | ENGLISH
    tables.add(list(texts), list(texts.values()), [meta(f"/news/{key}.txt", key) for key in texts])
    keywords = tables.keywords
    assert search(tables, "Wie viele Soldaten wurden getötet?")[0] == "de1"  # "Soldat", "getötet": de1 only
    assert search(tables, "Wer eröffnete den Bahnhof?") == ["de2"]
    assert search(tables, "Who opened the railway station?")[0] == "en2"
    assert search(tables, "Where did the soldiers return to?")[0] == "en1"
    assert search(tables, "Feuerwehr Linz", sources={"/news/de2.txt"}) == []
    assert search(tables, "Kathedrale") == []
    scores = [score for _, score in keywords.search(keywords.query_terms("Soldaten Graz Bahnhof"), 5)]
    assert scores == sorted(scores, reverse=True) and all(score > 0 for score in scores)
    passages, words = keywords.stats()
    assert passages == 5 and words == sum(len(w) for w in keywords.terms_of(list(texts)).values())
    # A question's words in another form than the passage's meet it: "soldier" / "soldiers".
    assert search(tables, "soldier")[0] == "en1" and search(tables, "Soldat")[0] == "de1"


def test_an_article_rewritten_and_then_deleted_leaves_no_terms_behind(tables):
    tables.add(["a1", "a2"], ["Zwetschkenbauer fand ein Schwert.", "Das Schwert ist alt."], [meta(A, "Fund")] * 2)
    keywords = tables.keywords
    sword = keywords.query_terms("Schwert")
    assert keywords.frequencies(sword) == {sword[0]: 2}
    # The article's new version: one passage changed (new id), the old one deleted, as ingestion does.
    tables.add(["a3"], ["Quirinella fand ein Beil."], [meta(A, "Fund, neu")])
    tables.delete(["a1"])
    assert search(tables, "Zwetschkenbauer") == [] and search(tables, "Quirinella") == ["a3"]
    assert keywords.frequencies(sword) == {sword[0]: 1}
    assert tables.catalogue.articles() == [(A, "a.txt", "Fund, neu", None, None, 2)]
    tables.delete(["a2", "a3"])
    assert keywords.frequencies(keywords.query_terms("Zwetschkenbauer Schwert Quirinella Beil")) == {}
    assert keywords.stats() == (0, 0) and tables.catalogue.count() == 0


def test_the_catalogue_is_read_a_page_at_a_time_in_title_order(tables):
    sources = [f"/news/{i:02d}.txt" for i in range(12)] + ["/news/feed.jsonl#1", "/news/feed.jsonl#2", "/news-2/x.txt"]
    titles = [f"Artikel {chr(ord('Z') - i)}" for i in range(len(sources))]
    tables.add(sources, [f"Text {t}." for t in titles], [meta(s, t) for s, t in zip(sources, titles)])
    catalogue = tables.catalogue
    assert catalogue.count() == 15
    pages = [catalogue.articles(offset, 4) for offset in range(0, 16, 4)]
    assert [len(page) for page in pages] == [4, 4, 4, 3]
    assert [row[2] for page in pages for row in page] == sorted(titles)
    assert catalogue.articles(12) == pages[3]  # no limit: the rest
    assert catalogue.count("artikel z") == 1 and catalogue.articles(0, 10, "ARTIKEL Y")[0][0] == sources[1]
    assert catalogue.sources_under(["/news"]) == sorted(sources[:14])
    assert catalogue.sources_under(["/news/feed.jsonl"]) == sources[12:14]
    assert catalogue.sources_under(["/news-2/"]) == ["/news-2/x.txt"]


def test_sources_compare_in_byte_order_whatever_the_database_s_collation(tables):
    # The test cluster's collation is German (ICU), where "/news/A/x" lies between "/news/a/" and
    # "/news/a0" and "a" sorts before "B": byte order says neither, and SQLite has only byte order.
    sources = ["/news/a/1.txt", "/news/A/x.txt", "/news/B.txt", "/news/a.txt"]
    tables.add(sources, ["Text."] * 4, [meta(s, "Gleicher Titel") for s in sources])
    assert tables.catalogue.sources_under(["/news/a"]) == ["/news/a/1.txt"]
    assert [row[0] for row in tables.catalogue.articles()] == sorted(sources)

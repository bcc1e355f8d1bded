"""The keyword index and the catalogue: two sets of tables in the record manager's SQLite, written together."""

from __future__ import annotations

import pytest

from rag.store import Catalogue, KeywordIndex, open_records
from rag.store.tables import SearchTables
from rag.text.terms import terms

A, B = "/news/a.txt", "/news/b.txt"


def meta(source: str, title: str, **extra: object) -> dict[str, object]:
    return {"source": source, "name": source.rsplit("/", 1)[-1], "title": title, **extra}


@pytest.fixture
def tables(settings) -> SearchTables:
    tables = SearchTables.open(open_records(settings))
    assert not tables.exists()
    assert tables.create() == 0 and tables.exists()
    assert tables.create() == 0  # made once: a second call finds them
    return tables


def test_a_write_reaches_the_keyword_index_and_the_catalogue_and_a_delete_both(tables):
    keywords, catalogue = tables.keywords, tables.catalogue
    assert isinstance(keywords, KeywordIndex) and isinstance(catalogue, Catalogue)
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
    assert [key for key, _ in keywords.search(terms("Bahnhof"), k=5)] == ["a2"]
    assert keywords.frequencies(terms("Bahnhof Graz Rom")) == {terms("Bahnhof")[0]: 1, terms("Graz")[0]: 1}
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
    assert keywords.search(terms("Bahnhof"), k=5) == [] and keywords.stats()[0] == 1

    tables.add(["b1"], ["Rom wählt heute."], [meta(A, "Rom")])  # the same id again, now of another article
    assert [row[0] for row in catalogue.articles()] == [A]
    assert keywords.terms_of(["b1"]) == {"b1": terms("Rom wählt heute.")}

    tables.clear()
    assert catalogue.count() == 0 and keywords.stats() == (0, 0)

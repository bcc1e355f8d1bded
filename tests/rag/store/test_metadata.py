"""Every setting that changes what a stored vector or chunk is, recorded by the index and checked on open.

Real Chroma and the real embedding model: a small corpus is ingested with the defaults, then ingesting
or asking with one setting changed stops with a message naming the setting, both values and the fix;
``newsqa ingest --rebuild`` builds the index anew with the new value.
"""

from __future__ import annotations

import json

import pytest

from ingest.indexing import ingest
from ingest.manifest import unchanged_report
from rag.models.embedding import get_embeddings
from rag.retrieval.retrieving import Retriever
from rag.settings import INDEX_SETTINGS, Settings, index_settings
from rag.store import DIM_KEY, MODEL_KEY, IndexMismatchError, open_client, open_store
from rag.store.metadata import SETTING_KEYS
from tests.conftest import OTHER_INDEX_VALUES, newsqa, write_corpus

ARTICLES = {
    "wien.txt": "Neue U-Bahn in Wien\nDie Stadt Wien baut eine neue U-Bahn-Linie. Sie soll 2030 fertig sein.",
    "linz.txt": "Hochwasser in Linz\nDie Donau trat in Linz über die Ufer. Rund 300 Häuser wurden evakuiert.",
}


def shown(value: object) -> str:
    """How the message writes a value (without the quotes around a string)."""
    return json.dumps(value, ensure_ascii=False).strip('"')


def assert_names(error: IndexMismatchError, name: str, indexed: object, current: object) -> None:
    message = str(error)
    assert f"NEWSQA_{name.upper()}" in message and "newsqa ingest --rebuild" in message, message
    assert shown(indexed) in message and shown(current) in message, message


def test_a_new_index_records_every_index_setting(settings, tmp_path):
    ingest([write_corpus(tmp_path / "news", ARTICLES)], settings, show_bar=False)
    meta = open_store(settings, get_embeddings(settings)).collection.metadata
    values = index_settings(settings)
    assert meta[MODEL_KEY] == settings.embedding_model and meta[DIM_KEY] == 384
    assert {name: meta[key] for name, key in SETTING_KEYS.items()} == {n: values[n] for n in SETTING_KEYS}
    assert set(SETTING_KEYS) | {"embedding_model"} == set(INDEX_SETTINGS)


@pytest.mark.parametrize("name", INDEX_SETTINGS)
def test_ingesting_or_asking_with_another_value_stops_with_the_setting_and_the_fix(name, settings, tmp_path):
    news = write_corpus(tmp_path / "news", ARTICLES)
    first = ingest([news], settings, show_bar=False)
    other = settings.model_copy(update={name: OTHER_INDEX_VALUES[name]})
    default = getattr(settings, name)
    # The manifest's shortcut does not call the corpus unchanged: the real ingestion runs and stops.
    assert unchanged_report([news], settings) is not None and unchanged_report([news], other) is None

    with pytest.raises(IndexMismatchError) as ingesting:
        ingest([news], other, show_bar=False)
    assert_names(ingesting.value, name, default, OTHER_INDEX_VALUES[name])
    with pytest.raises(IndexMismatchError) as asking:
        open_store(other, get_embeddings(other))
    assert_names(asking.value, name, default, OTHER_INDEX_VALUES[name])

    # Nothing was written by the refused ingestion: the index is as the first one left it.
    store = open_store(settings, get_embeddings(settings))
    assert store.count() == first.records == len(store.records.list_keys())


def test_pooling_switched_is_refused_until_a_rebuild_embeds_everything_anew(settings, tmp_path):
    news = write_corpus(tmp_path / "news", ARTICLES)
    ingest([news], settings, show_bar=False)
    unpooled = settings.model_copy(update={"pooling": "off"})
    with pytest.raises(
        IndexMismatchError, match='NEWSQA_POOLING="sentences", but the current setting is NEWSQA_POOLING='
    ):
        ingest([news], unpooled, show_bar=False)

    rebuilt = ingest([news], unpooled, rebuild=True, show_bar=False)
    assert rebuilt.added == rebuilt.records > 0 and rebuilt.unchanged == 0
    store = open_store(unpooled, get_embeddings(unpooled))
    assert store.collection.metadata["newsqa_pooling"] == "off"
    assert Retriever(store, 1).run("Wie viele Häuser wurden in Linz evakuiert?")[0].name == "linz.txt"
    with pytest.raises(IndexMismatchError, match='NEWSQA_POOLING="off"'):
        open_store(settings, get_embeddings(settings))


def test_an_index_made_before_the_settings_were_recorded_counts_as_the_defaults_of_then(settings):
    """Older indexes hold only the model and its dimension: they keep working with the settings they were
    made with, which were the defaults then, sentence vectors not pooled among them."""
    embeddings = get_embeddings(settings)
    open_client(settings).create_collection(
        settings.collection,
        metadata={MODEL_KEY: embeddings.model_id, DIM_KEY: embeddings.dimension},
        configuration={"hnsw": {"space": "cosine"}},
    )
    unpooled = settings.model_copy(update={"pooling": "off"})
    assert open_store(unpooled, get_embeddings(unpooled)).count() == 0
    with pytest.raises(IndexMismatchError) as raised:
        open_store(settings, embeddings)  # today's default pools: not what made this index
    assert_names(raised.value, "pooling", "off", "sentences")


def test_two_settings_switched_are_named_together(settings, tmp_path):
    ingest([write_corpus(tmp_path / "news", ARTICLES)], settings, show_bar=False)
    other = settings.model_copy(update={"chunk_tokens": 50, "sentence_vectors": False})
    with pytest.raises(IndexMismatchError) as raised:
        open_store(other, get_embeddings(other))
    assert str(raised.value).startswith(
        f"The index in {settings.index_dir} was built with NEWSQA_SENTENCE_VECTORS=true, NEWSQA_CHUNK_TOKENS=100, "
        "but the current settings are NEWSQA_SENTENCE_VECTORS=false, NEWSQA_CHUNK_TOKENS=50. Rebuild it with "
        "`newsqa ingest --rebuild`"
    )


def test_newsqa_ingest_says_which_setting_changed(settings, tmp_path, monkeypatch):
    news = write_corpus(tmp_path / "news", ARTICLES)
    assert newsqa("ingest", str(news), "--quiet", settings=settings).returncode == 0
    monkeypatch.setenv("NEWSQA_POOLING", "off")
    result = newsqa("ingest", str(news), "--quiet", settings=settings)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f'newsqa: The index in {settings.index_dir} was built with NEWSQA_POOLING="sentences"')
    assert "`newsqa ingest --rebuild`" in line


def test_with_the_torch_backend_pooling_is_off_whatever_it_says(model_dir):
    torch = Settings(model_dir=model_dir, embedding_backend="torch", pooling="sentences")
    assert index_settings(torch)["pooling"] == "off"

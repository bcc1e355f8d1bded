"""What the model reads: windows grown from the retrieved passages on a real (tiny, inline) index."""

from __future__ import annotations

import pytest

from rag.models.embedding import get_embeddings
from rag.retrieval.evidence import evidence, read_windows
from rag.retrieval.retrieving import build_retriever
from rag.store import open_store
from tests.rag.retrieval.test_retrieving import ARTICLES, BUDGET_QUESTION, BUDGET_SENTENCE, build_index


@pytest.fixture(scope="module")
def small_chunks(tmp_path_factory: pytest.TempPathFactory, model_dir):
    """ARTICLES in 32-token passages: an article is several passages, so windows have neighbours."""
    settings = build_index(tmp_path_factory.mktemp("evidence"), model_dir, chunk_tokens=32)
    store = open_store(settings, get_embeddings(settings))
    return settings, store


def article_text(name: str) -> str:
    return ARTICLES[name]  # the .txt loader keeps the title line in the article text


def test_a_window_is_the_articles_own_text_around_the_passage_within_the_budget(small_chunks):
    settings, store = small_chunks
    passages = build_retriever(settings, store, top_k=4).run(BUDGET_QUESTION)
    assert BUDGET_SENTENCE in passages[0].text
    [window] = read_windows(store, passages, windows=1, chars=400)
    assert BUDGET_SENTENCE in window.text
    assert len(window.text) > len(passages[0].text)  # grown by neighbouring sentences
    assert len(window.text) <= 400
    assert window.start <= passages[0].start and passages[0].end <= window.end
    assert " ".join(window.text.split()) in " ".join(article_text("gemeinde.txt").split())
    assert window.source == passages[0].source and window.score == passages[0].score


def test_windows_of_one_article_that_touch_are_merged(small_chunks):
    settings, store = small_chunks
    passages = build_retriever(settings, store, top_k=6).run(
        BUDGET_QUESTION, sources=[build_retriever(settings, store, 1).run(BUDGET_QUESTION)[0].source]
    )
    windows = read_windows(store, passages, windows=6, chars=2000)
    # the whole (short) article fits one window: every passage of it is read once
    assert len(windows) == 1
    assert " ".join(windows[0].text.split()) == " ".join(article_text("gemeinde.txt").split())


def test_several_windows_come_best_first_and_never_repeat_a_passage(small_chunks):
    settings, store = small_chunks
    passages = build_retriever(settings, store, top_k=8).run("Wann wird die Bahnstrecke gesperrt und was kostet das?")
    windows = read_windows(store, passages, windows=3, chars=250)
    assert 1 <= len(windows) <= 3
    assert windows[0].source == passages[0].source
    for a in windows:
        for b in windows:
            if a is not b and a.source == b.source:
                assert a.end < b.start or b.end < a.start  # disjoint


def test_no_windows_setting_hands_the_passages_over_as_retrieved(small_chunks):
    settings, store = small_chunks
    passages = build_retriever(settings, store, top_k=4).run(BUDGET_QUESTION)
    assert evidence(settings.model_copy(update={"evidence_windows": 0}), store, passages) == passages
    read = evidence(settings.model_copy(update={"evidence_windows": 2, "window_chars": 300}), store, passages)
    assert len(read) <= 2 and BUDGET_SENTENCE in read[0].text

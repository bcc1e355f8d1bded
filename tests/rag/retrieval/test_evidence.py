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


def span_of(name: str, first: str, last: str) -> tuple[int, int]:
    """The offsets in article ``name`` from the sentence starting ``first`` to the end of the one ending ``last``."""
    text = article_text(name)
    return text.index(first), text.index(last) + len(last)


def assert_window(window, name: str, first: str, last: str) -> None:
    """``window`` is article ``name``'s own text from sentence ``first`` to ``last``, at its offsets (a line
    break where two stored passages meet, as the chunker dropped the space there)."""
    start, end = span_of(name, first, last)
    assert (window.name, window.start, window.end) == (name, start, end)
    assert window.text.replace("\n", " ") == article_text(name)[start:end].replace("\n", " ")


def test_a_window_is_the_passage_grown_by_whole_sentences_next_first_within_the_budget(small_chunks):
    settings, store = small_chunks
    passages = build_retriever(settings, store, top_k=4).run(BUDGET_QUESTION)
    assert passages[0].text == f"{BUDGET_SENTENCE} Außerdem bekommt der Fußballplatz eine neue Flutlichtanlage."
    [window] = read_windows(store, passages, windows=1, chars=400)
    # The next sentence, the one before, the next again (343 characters): one more either way passes 400.
    assert_window(window, "gemeinde.txt", "Bürgermeister Anton", "bleiben im kommenden Jahr unverändert.")
    assert window.source == passages[0].source and window.score == passages[0].score


def test_windows_of_one_article_that_touch_are_merged(small_chunks):
    settings, store = small_chunks
    passages = build_retriever(settings, store, top_k=6).run(
        BUDGET_QUESTION, sources=[build_retriever(settings, store, 1).run(BUDGET_QUESTION)[0].source]
    )
    windows = read_windows(store, passages, windows=6, chars=2000)
    # the whole (short) article fits one window: every passage of it is read once
    assert len(windows) == 1
    assert_window(windows[0], "gemeinde.txt", "Gemeinderat beschließt Budget", "findet im März statt.")


def test_several_windows_come_best_first_and_never_repeat_a_passage(small_chunks):
    settings, store = small_chunks
    passages = build_retriever(settings, store, top_k=8).run("Wann wird die Bahnstrecke gesperrt und was kostet das?")
    assert [p.name for p in passages[:6]] == ["bahn.txt"] * 3 + ["sport.txt", "wetter.txt", "bahn.txt"]
    first, second, third = read_windows(store, passages, windows=3, chars=250)
    # The three best bahn.txt passages grow into one window; the sixth passage, the article's last
    # sentence, is not read: the three windows were chosen before it came up.
    assert_window(first, "bahn.txt", "Bahnstrecke wird gesperrt", "schneller und pünktlicher fahren.")
    assert_window(second, "sport.txt", "Trainer Herbert Lindner", "beim Tabellenführer.")
    assert_window(third, "wetter.txt", "Die Meteorologen erwarten", "viel Wasser zu trinken.")


def test_no_windows_setting_hands_the_passages_over_as_retrieved(small_chunks):
    settings, store = small_chunks
    passages = build_retriever(settings, store, top_k=4).run(BUDGET_QUESTION)
    as_retrieved = settings.model_copy(update={"evidence": "passages", "evidence_windows": 0})
    assert evidence(as_retrieved, store, passages) == passages
    budget, railway = evidence(
        as_retrieved.model_copy(update={"evidence_windows": 2, "window_chars": 300}), store, passages
    )
    assert_window(budget, "gemeinde.txt", "Bürgermeister Anton", "am Samstagvormittag geöffnet sein.")
    assert_window(railway, "bahn.txt", "Die Bauarbeiten kosten", "mitten in die Ferienzeit fällt.")

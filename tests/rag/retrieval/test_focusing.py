"""Focusing: a passage's sentence nearest the question, from its sentences encoded on their own (real e5,
int8 ONNX), on a bare passage and through the retriever over a real index built with one encoder pass."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ingest.indexing import ingest
from rag.models.embedding import PassageEmbeddings, get_embeddings
from rag.retrieval.focusing import refocus, sentences_pooled
from rag.retrieval.retrieving import Passage, build_retriever
from rag.settings import Settings
from rag.store import open_store
from tests.conftest import write_corpus

SENTENCES = [
    "Die neue Brücke wird aus Stahl gebaut und soll im Herbst 2026 fertig sein.",
    "Die Baukosten werden auf 4,2 Millionen Euro geschätzt.",
    "Das Land übernimmt nach Angaben der Stadt zwei Drittel dieser Summe.",
]
QUESTION = "Wie hoch werden die Baukosten der neuen Brücke geschätzt?"
ANSWER = SENTENCES[1]


def _passage(text: str, start: int) -> Passage:
    return Passage(text=text, source="/a.txt", name="a.txt", title="", start=start, end=start + len(text), score=0.8)


@pytest.fixture(scope="module")
def pooled(model_dir: Path) -> PassageEmbeddings:
    return get_embeddings(Settings(model_dir=model_dir, embedding_backend="onnx-int8", pooling="sentences"))


def test_the_focus_is_the_sentence_nearest_the_question_in_article_offsets(pooled: PassageEmbeddings) -> None:
    text = " ".join(SENTENCES)
    query = pooled.embed_query(QUESTION)
    [focused], best = refocus([_passage(text, start=500)], query, pooled)

    assert (focused.focus_start, focused.focus_end) == (
        500 + text.index(ANSWER),
        500 + text.index(ANSWER) + len(ANSWER),
    )
    # the best similarity is the answer sentence's own, encoded alone
    assert best == pytest.approx(float(np.dot(query, pooled.embed_alone([ANSWER])[0])), abs=1e-5)


def test_a_passage_without_a_sentence_worth_a_record_keeps_its_focus(pooled: PassageEmbeddings) -> None:
    heading = _passage("Flussheim", start=0)  # one word: no sentence record, nothing to focus on
    kept = replace(heading, focus_start=0, focus_end=9)
    passages, best = refocus([kept], pooled.embed_query(QUESTION), pooled)
    assert passages == [kept] and best is None


def test_sentences_encoded_alone_are_kept_for_the_instant_answer(
    pooled: PassageEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = " ".join(SENTENCES)
    refocus([_passage(text, start=0)], pooled.embed_query(QUESTION), pooled)
    encoded: list[str] = []
    original = pooled._encode
    monkeypatch.setattr(pooled, "_encode", lambda texts, prefix: encoded.extend(texts) or original(texts, prefix))
    again = pooled.embed_alone([ANSWER, SENTENCES[0], "Ein neuer Satz steht hier."])
    assert encoded == ["Ein neuer Satz steht hier."]  # the two seen sentences came from the cache
    assert len(again) == 3 and all(len(v) == 384 for v in again)


def test_a_pooled_index_focuses_retrieval_on_the_answer_sentence(settings: Settings, tmp_path: Path) -> None:
    pooled = settings.model_copy(update={"pooling": "sentences"})
    article = (
        "Neue Brücke für Flussheim\n"
        + " ".join(SENTENCES)
        + " "
        + " ".join(
            [
                "Während der Bauzeit richtet die Stadt eine Fähre für Fußgänger ein.",
                "Die Fähre verkehrt werktags zwischen sechs und zwanzig Uhr im Halbstundentakt.",
            ]
        )
    )
    ingest([write_corpus(tmp_path / "corpus", {"bruecke.txt": article})], pooled, show_bar=False)
    store = open_store(pooled, get_embeddings(pooled))
    assert sentences_pooled(store.embeddings)

    found = build_retriever(pooled, store).search(QUESTION)
    top = found.passages[0]
    assert article[top.focus_start : top.focus_end] == ANSWER
    # the gate's nearest sentence is the answer sentence's own similarity, not its pooled one
    query = store.embeddings.embed_query(QUESTION)
    assert found.best_sentence == pytest.approx(
        float(np.dot(query, store.embeddings.embed_alone([ANSWER])[0])), abs=1e-5
    )

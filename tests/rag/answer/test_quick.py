"""The instant answer: one sentence of the best passage, before the LLM writes anything.

Real Chroma and the real embedding model; the LLM is a scripted fake (it is not what is tested).
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from ingest.indexing import ingest
from rag.answer.answering import Answerer
from rag.answer.quick import QuickAnswer, asks_for_number, asks_for_time, has_number, quick_answer, shared_words
from rag.answer.results import Answer, Token
from rag.models.embedding import get_embeddings
from rag.retrieval.retrieving import Retriever
from rag.store import open_store
from tests.rag.answer.test_cascade import answers_from, cascade

# Invented articles: the quick answer must work for any question, not just the product's example.
ARTICLES = {
    "feuerwehr.txt": (
        "Großbrand in Leoben\n"
        "In der Nacht auf Sonntag brannte eine Lagerhalle am Stadtrand von Leoben. "
        "Die Feuerwehr rückte mit 45 Fahrzeugen und rund 300 Einsatzkräften aus. "
        "Verletzt wurde niemand. Die Brandursache ist laut Polizei noch unklar."
    ),
    "bahn.txt": (
        "Neue Bahnstrecke eröffnet\n"
        "Die Koralmbahn verbindet Graz und Klagenfurt. Die Fahrzeit sinkt auf 45 Minuten. "
        "Gebaut wurde die Strecke von der ÖBB. Die Eröffnung feierte die Regierung mit einem Fest."
    ),
}


def retriever_for(settings, tmp_path: Path) -> Retriever:
    folder = tmp_path / "news"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    ingest([folder], settings, show_bar=False)
    return Retriever(open_store(settings, get_embeddings(settings)), settings.top_k)


def test_question_kinds_and_numbers_are_recognised():
    assert asks_for_number("How many vehicles were there?") and asks_for_number("Wie viele Soldaten?")
    assert asks_for_number("Wieviel kostet das?") and not asks_for_number("Who built the line?")
    assert asks_for_time("Wann wurde sie eröffnet?") and not asks_for_number("When did it open?")
    assert has_number("Es kamen 12.000 Soldaten.") and has_number("Rund zweihundert Menschen kamen.")
    assert not has_number("In der Nacht brannte es.")  # "acht" inside "Nacht" is no number


def test_how_many_gets_the_sentence_with_the_number_in_english_and_german(settings, tmp_path):
    retriever = retriever_for(settings, tmp_path)
    for question in (
        "How many vehicles did the fire brigade send?",
        "Mit wie vielen Fahrzeugen rückte die Feuerwehr aus?",
    ):
        passages = retriever.run(question)
        quick = quick_answer(question, passages, retriever.store.embeddings)
        assert quick is not None and "45 Fahrzeugen" in quick.text, question
        # the sentence is located exactly in the numbered passage it came from
        assert passages[quick.passage - 1].text[quick.start : quick.end] == quick.text
        assert quick.source == "feuerwehr.txt" and quick.title == "Großbrand in Leoben"
        assert quick.path.endswith("feuerwehr.txt")


def test_other_questions_get_the_most_similar_sentence(settings, tmp_path):
    retriever = retriever_for(settings, tmp_path)
    question = "Who built the new railway line?"
    passages = retriever.run(question)
    quick = quick_answer(question, passages, retriever.store.embeddings)
    assert quick is not None and quick.passage == 1 and "ÖBB" in quick.text


def test_no_quick_answer_when_no_passage_is_relevant(settings, tmp_path):
    retriever = retriever_for(settings, tmp_path)
    question = "Which team won the 1994 football World Cup?"
    passages = retriever.run(question)
    assert quick_answer(question, passages, retriever.store.embeddings, threshold=0.99) is None
    assert quick_answer(question, [], retriever.store.embeddings) is None


def test_stream_yields_the_quick_answer_before_any_token_and_keeps_it_on_the_answer(corpus_settings):
    answerer, _ = cascade(corpus_settings, answers_from("12.000"))
    events = list(answerer.stream("how many soldiers?"))
    kinds = [type(e) for e in events]
    assert kinds[0] is QuickAnswer and Token in kinds and kinds[-1] is Answer
    quick, answer = events[0], events[-1]
    assert "12.000" in quick.text and quick.source == "nordkorea-soldaten-russland.txt"
    assert answer.quick_answer == quick
    assert answer.timings_ms["retrieve"] <= answer.timings_ms["quick"] <= answer.timings_ms["first_token"]
    data = answer.to_json()["quick_answer"]
    assert data["text"] == quick.text and data["passage"] == quick.passage
    assert {"text", "passage", "start", "end", "source", "title"} <= data.keys()


def test_a_refusal_without_the_llm_has_no_quick_answer(corpus_settings):
    llm = GenericFakeChatModel(messages=iter([AIMessage(content="Brazil [1]")]))
    store = open_store(corpus_settings, get_embeddings(corpus_settings))
    answerer = Answerer(corpus_settings, Retriever(store, corpus_settings.top_k), llm)
    events = list(answerer.stream("Which team won the 1994 football World Cup?"))
    assert not any(isinstance(e, QuickAnswer) for e in events)
    assert events[-1].refused and events[-1].to_json()["quick_answer"] is None


def test_shared_words_counts_the_questions_stemmed_content_words_in_the_sentence():
    assert shared_words("Wie viele Lawinen gingen ab?", "Drei Lawinen gingen im Montafon ab.") == 2 / 3
    assert shared_words("Wie viele Häuser wurden evakuiert?", "Rund 300 Häuser mussten evakuiert werden.") == 2 / 4
    assert shared_words("How many soldiers?", "Es kamen 12.000 Soldaten.") == 0.0  # across languages: e5 alone
    assert shared_words("Wann?", "Am Montag.") == 0.0

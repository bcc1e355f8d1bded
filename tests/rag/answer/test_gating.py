"""The answerability gate: real retrieval (e5, Chroma) over a tiny inline corpus, the shipped weights."""

from __future__ import annotations

import pytest

from ingest.indexing import ingest
from rag.answer.gating import AnswerGate, Signals, logit
from rag.models.embedding import get_embeddings
from rag.retrieval.retrieving import Passage, Retrieval, build_retriever
from rag.settings import Settings
from rag.store import open_store
from tests.conftest import write_corpus

ARTICLES = {
    "hochwasser.txt": "Hochwasser in Linz\n\nIn Linz mussten am Wochenende rund 300 Häuser evakuiert werden. "
    "Die Donau erreichte einen Pegel von 8,9 Metern. Die Feuerwehr war mit Booten und Pumpen im Einsatz, "
    "unterstützt vom Bundesheer. Bürgermeister Klaus Luger sprach von der schwersten Flut seit 2002.",
    "bahnhof.txt": "Neuer Bahnhof in Graz\n\nDer neue Hauptbahnhof in Graz soll im Herbst 2027 eröffnet werden. "
    "Die Kosten liegen laut Stadt bei 1,2 Milliarden Euro. Täglich sollen 80.000 Fahrgäste den Bahnhof nutzen.",
    "orchester.txt": "Wiener Philharmoniker auf Tournee\n\nDie Wiener Philharmoniker spielen im März zwölf "
    "Konzerte in Japan. Dirigent der Tournee ist Christian Thielemann. Auf dem Programm stehen Werke von "
    "Bruckner und Brahms.",
}

ANSWERABLE = [
    "How many houses had to be evacuated in Linz?",
    "Wie viele Häuser mussten in Linz evakuiert werden?",
    "When will the new station in Graz open?",
    "Wer dirigiert die Tournee der Wiener Philharmoniker?",
    "Combien de concerts les Philharmoniques de Vienne donnent-ils au Japon ?",
]
# The same article, a question it does not answer: the gate cannot know that the article is silent
# on it (the model reads the passages and decides, tests/rag/answer/test_answering_e2e.py), but it
# must judge it less answerable than the question the article does answer.
NEAR_TOPIC = {
    "How many people died in the flood in Linz?": "How many houses had to be evacuated in Linz?",
    "Wie hoch war der Schaden durch das Hochwasser?": "Wie viele Häuser mussten in Linz evakuiert werden?",
    "Who designed the new station in Graz?": "When will the new station in Graz open?",
    "Wie viele Karten wurden für die Japan-Tournee verkauft?": "Wer dirigiert die Tournee der Wiener Philharmoniker?",
}
OFF_TOPIC = [
    "What is the capital of Australia?",
    "Was ist die Hauptstadt von Australien?",
    "Who won the Champions League final in 2019?",
    "Welche Partei gewann die Wahl in Kanada?",
    "Quelle est la capitale de l'Australie ?",
]


@pytest.fixture(scope="module")
def searched(tmp_path_factory, model_dir):
    """Each question's search over the three articles, with the weights the product ships."""
    root = tmp_path_factory.mktemp("gating")
    corpus = write_corpus(root / "corpus", ARTICLES)
    settings = Settings(index_dir=root / "index", model_dir=model_dir, corpus_dir=corpus)
    ingest([corpus], settings, show_bar=False)
    retriever = build_retriever(settings, open_store(settings, get_embeddings(settings)))
    return settings, {q: retriever.search(q) for q in ANSWERABLE + OFF_TOPIC + list(NEAR_TOPIC)}


@pytest.mark.parametrize("question", ANSWERABLE)
def test_questions_the_articles_answer_pass_in_every_language(searched, question):
    settings, found = searched
    decision = AnswerGate.from_settings(settings).run(found[question])
    assert decision.answerable, decision


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_are_refused_in_every_language(searched, question):
    settings, found = searched
    decision = AnswerGate.from_settings(settings).run(found[question])
    assert not decision.answerable, decision


@pytest.mark.parametrize(("near", "answered"), NEAR_TOPIC.items())
def test_a_question_the_article_does_not_answer_scores_below_one_it_does(searched, near, answered):
    settings, found = searched
    gate = AnswerGate.from_settings(settings)
    assert gate.run(found[near]).logit < gate.run(found[answered]).logit - 1.0


def test_a_german_question_is_judged_as_same_language_and_an_english_one_across(searched):
    _, found = searched
    assert Signals.of(found["Wie viele Häuser mussten in Linz evakuiert werden?"]).same_language
    assert not Signals.of(found["How many houses had to be evacuated in Linz?"]).same_language
    assert not Signals.of(found["Quelle est la capitale de l'Australie ?"]).same_language


def test_the_two_pairs_of_languages_have_weights_of_their_own(searched):
    # The same cosines are judged differently for a question asked across languages, which scores
    # lower against the articles than one in their own language.
    settings, found = searched
    asked = found["How many houses had to be evacuated in Linz?"]
    strict = AnswerGate(same_language=settings.gate_same_language, cross_language=(-1000.0, 1.0, 1.0))
    assert AnswerGate.from_settings(settings).run(asked).answerable and not strict.run(asked).answerable


def search_result(best: float, sentence: float, question_language: str, passages_language: str | None) -> Retrieval:
    """One passage at ``best`` and a crowd of twenty at 0.7 behind it: a spread of ``best`` - 0.7."""
    passage = Passage("Text.", "/a.txt", "a.txt", "A", 0, 5, best)
    crowd = [best] + [0.7] * 19
    return Retrieval([passage], crowd, ["/a.txt"] * 20, sentence, question_language, passages_language)


def test_the_decision_is_the_sign_of_the_weighted_signals():
    gate = AnswerGate(same_language=(-10.0, 5.0, 50.0), cross_language=(-9.0, 5.0, 50.0))
    found = search_result(0.8, 0.95, "de", "de")
    signals = Signals.of(found)
    assert signals.spread == pytest.approx(0.1) and signals.sentence == 0.95
    assert logit((-10.0, 5.0, 50.0), signals) == pytest.approx(-10 + 4.75 + 5.0)
    assert not gate.run(found).answerable  # -0.25
    assert gate.run(search_result(0.8, 0.95, "en", "de")).answerable  # +0.75
    # Passages in a language newsqa does not recognise: judged as a question across languages.
    assert gate.run(search_result(0.8, 0.95, "en", None)).answerable


def test_the_same_best_cosine_counts_less_in_a_crowd():
    # A bigger collection lifts the best cosine of a question nobody answers; the crowd rises with it.
    gate = AnswerGate(same_language=(-10.0, 5.0, 50.0), cross_language=(-10.0, 5.0, 50.0))
    alone = search_result(0.85, 0.9, "de", "de")
    crowded = Retrieval(alone.passages, [0.85] + [0.82] * 19, alone.dense_sources, 0.9, "de", "de")
    assert gate.run(alone).answerable and not gate.run(crowded).answerable


def test_no_passage_is_never_answerable():
    gate = AnswerGate(same_language=(10.0, 0.0, 0.0), cross_language=(10.0, 0.0, 0.0))
    assert not gate.run(Retrieval([], [], [], 0.0, "en", None)).answerable


@pytest.mark.parametrize("weights", [(1.0, 2.0), (0.0, -1.0, 1.0), (0.0, 1.0, -0.5)])
def test_weights_are_validated(weights):
    with pytest.raises(ValueError, match="bias, w_sentence, w_spread"):
        AnswerGate(same_language=weights, cross_language=(0.0, 1.0, 1.0))


def test_weights_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("NEWSQA_GATE_CROSS_LANGUAGE", "[-80, 50, 50]")
    assert AnswerGate.from_settings(Settings()).cross_language == (-80.0, 50.0, 50.0)

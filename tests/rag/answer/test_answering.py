"""The answering chain: refusal path, citation and number checks, streaming.

The LLM here is a small scripted fake (the chain's own logic is under test); the store and the
embedding model are real. End-to-end tests with the real LLM are in test_answering_e2e.py. These tests
read the top passages all at once (``NEWSQA_CASCADE_DEPTH=0``), where one scripted reply is the whole
answer; the default reader, one evidence at a time, is tested in test_cascade.py.
"""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag.answer.answering import Answerer, clean_question
from rag.answer.results import Answer, QuestionError, Token
from rag.models.embedding import get_embeddings
from rag.retrieval.evidence import evidence
from rag.retrieval.retrieving import Passage, Retriever
from rag.store import open_store


@pytest.fixture
def corpus_settings(corpus_settings):
    """The shipped corpus's index, read all at once (one reply answers)."""
    return corpus_settings.model_copy(update={"cascade_depth": 0, "evidence": "passages"})


class ScriptedLLM(GenericFakeChatModel):
    """Streams a fixed reply word by word and remembers what it was asked."""

    prompts: list = []

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.prompts.append(messages)
        yield from super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.prompts.append(messages)
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def make_answerer(settings, reply: str) -> tuple[Answerer, ScriptedLLM]:
    llm = ScriptedLLM(messages=iter([AIMessage(content=reply)]), prompts=[])
    store = open_store(settings, get_embeddings(settings))
    return Answerer(settings, Retriever(store, settings.top_k), llm), llm


def read(answerer: Answerer, question: str) -> list[Passage]:
    """What the model reads for ``question``: the retrieved passages, or windows around them."""
    return evidence(answerer.settings, answerer.retriever.store, answerer.retriever.run(question))


def passage_with(answerer: Answerer, question: str, *words: str) -> int:
    """The number the model sees on the first passage (or window) it reads holding all ``words``."""
    passages = read(answerer, question)
    return next(n for n, p in enumerate(passages, start=1) if all(w in p.text for w in words))


def test_cited_answer_is_checked_and_streamed(corpus_settings):
    question = "How many North Korean soldiers were sent to Russia?"
    probe, _ = make_answerer(corpus_settings, "")
    n = passage_with(probe, question, "10.000", "12.000")
    answerer, llm = make_answerer(corpus_settings, f"10,000 to 12,000 soldiers [{n}] [9]")
    events = list(answerer.stream(question))
    tokens = [e for e in events if isinstance(e, Token)]
    answer = events[-1]
    assert isinstance(answer, Answer) and len(tokens) > 1
    assert answer.answer == f"10,000 to 12,000 soldiers [{n}]"  # [9] was never given to the model
    assert not answer.refused and answer.unsupported_numbers == []
    assert [c.n for c in answer.citations] == [n]
    assert answer.citations[0].source == "nordkorea-soldaten-russland.txt"
    assert "12.000" in answer.citations[0].text
    assert {"retrieve", "first_token", "generate", "total"} <= answer.timings_ms.keys()
    # the model saw the numbered passages and the question (it copies the answer; rag.answer.translating
    # puts it into the question's language)
    system, *examples, human = llm.prompts[0]
    assert system.type == "system" and len(examples) % 2 == 0
    assert human.content.endswith(f"Question: {question}") and "[1]" in human.content
    assert "12.000" in human.content


def test_an_invented_number_beside_a_real_one_is_flagged(corpus_settings):
    answerer, _ = make_answerer(corpus_settings, "10.000 to 25.000 soldiers [1]")
    answer = answerer.ask("How many North Korean soldiers were sent to Russia?")
    assert answer.answer.startswith("10,000 to 25,000 soldiers")  # thousands written the English way
    assert answer.unsupported_numbers == ["25,000"] and not answer.refused


def test_an_answer_whose_only_numbers_are_invented_is_a_refusal(corpus_settings):
    answerer, _ = make_answerer(corpus_settings, "25 tanks [1]")
    answer = answerer.ask("How many tanks did North Korea send?")
    assert answer.refused and answer.citations == []
    assert answer.answer.startswith("The articles do not answer “How many tanks did North Korea send?”.")


def test_model_saying_not_found_is_a_refusal_in_the_question_language(corpus_settings):
    answerer, _ = make_answerer(corpus_settings, "NOT FOUND")
    answer = answerer.ask("Wie viele Panzer hat Nordkorea nach Russland geschickt?")
    assert answer.refused and answer.citations == []
    assert answer.answer.startswith(
        "Die Artikel beantworten „Wie viele Panzer hat Nordkorea nach Russland geschickt?“ nicht."
    )


def test_off_topic_question_is_refused_without_calling_the_llm(corpus_settings):
    answerer, llm = make_answerer(corpus_settings, "Brazil [1]")
    answer = answerer.ask("Which team won the 1994 football World Cup?")
    assert answer.refused and llm.prompts == [] and answer.quick_answer is None
    assert answer.decision is not None and not answer.decision.answerable and answer.decision.logit < 0
    # The refusal names the question and, as a lead to read on, the closest article (not cited).
    assert answer.answer.startswith("The articles do not answer “Which team won the 1994 football World Cup?”.")
    assert answer.lead is not None and answer.lead.source == answer.passages[0].name
    assert f"({answer.lead.source})" in answer.answer and answer.citations == []
    assert answer.to_json()["gate"]["answerable"] is False


def test_on_topic_question_passes_the_gate(corpus_settings):
    answerer, llm = make_answerer(corpus_settings, "x [1]")
    answer = answerer.ask("How many North Korean soldiers are fighting for Russia?")
    assert answer.decision is not None and answer.decision.answerable and llm.prompts


def test_a_french_question_is_refused_in_french(corpus_settings):
    answerer, llm = make_answerer(corpus_settings, "Brésil [1]")
    answer = answerer.ask("Quelle équipe a gagné la Coupe du monde de football en 1994 ?")
    assert answer.refused and llm.prompts == [] and answer.language == "fr"
    assert answer.answer.startswith("Les articles ne répondent pas à « Quelle équipe")
    assert "L'article le plus proche est" in answer.answer


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01\x02", "🙂🙂🙂", "?!"])
def test_empty_questions_are_refused_before_anything_runs(question):
    with pytest.raises(QuestionError, match="Please type a question"):
        clean_question(question, 2000)


def test_overlong_question_is_refused_politely():
    with pytest.raises(QuestionError, match="too long"):
        clean_question("How many soldiers? " * 600, 2000)


def test_control_characters_are_removed_from_questions():
    assert clean_question("How many\x00 soldiers?\u200b\n", 2000) == "How many soldiers?"


def test_warm_up_sends_exactly_the_fixed_prefix_of_every_question_prompt(corpus_settings):
    answerer, llm = make_answerer(corpus_settings, "x")
    llm.messages = iter([AIMessage(content="x"), AIMessage(content="10.000 bis 12.000 [1]")])
    answerer.warm_up()
    answerer.ask("How many North Korean soldiers are in Russia?")
    warm, real = llm.prompts[0], llm.prompts[-1]
    assert [m.content for m in warm[:-1]] == [m.content for m in real[:-1]]
    assert real[-1].content.startswith(warm[-1].content)


# --- two steps: copy the German phrase, then translate it ----------------------------------------


def make_two_step(settings, reply: str, translation: str) -> tuple[Answerer, ScriptedLLM, ScriptedLLM]:
    from rag.answer.translating import Translator

    answer_llm = ScriptedLLM(messages=iter([AIMessage(content=reply)]), prompts=[])
    translate_llm = ScriptedLLM(messages=iter([AIMessage(content=translation)]), prompts=[])
    store = open_store(settings, get_embeddings(settings))
    return Answerer(settings, Retriever(store, 4), answer_llm, Translator(translate_llm)), answer_llm, translate_llm


def test_an_english_question_gets_the_copied_german_phrase_translated(corpus_settings):
    question = "How many North Korean soldiers were sent to Russia?"
    probe, _ = make_answerer(corpus_settings, "")
    n = passage_with(probe, question, "10.000", "12.000")
    answerer, answer_llm, translate_llm = make_two_step(
        corpus_settings, f"10.000 bis 12.000 Soldaten [{n}]", "10.000 to 12.000 soldiers"
    )
    answer = answerer.ask(question)
    assert answer.answer == f"10,000 to 12,000 soldiers [{n}]"  # the [n] kept, thousands the English way
    assert not answer.refused and [c.n for c in answer.citations] == [n] and answer.unsupported_numbers == []
    assert answer_llm.prompts and len(translate_llm.prompts) == 1
    system, *_, human = translate_llm.prompts[0]
    assert "English" in system.content and human.content == "10.000 bis 12.000 Soldaten"  # no marker
    assert "translate" in answer.timings_ms


def test_an_unusable_translation_leaves_the_german_phrase(corpus_settings):
    question = "How many North Korean soldiers were sent to Russia?"
    probe, _ = make_answerer(corpus_settings, "")
    n = passage_with(probe, question, "10.000", "12.000")
    answerer, _, translate_llm = make_two_step(corpus_settings, f"10.000 bis 12.000 Soldaten [{n}]", "25,000 soldiers")
    answer = answerer.ask(question)
    assert answer.answer == f"10,000 bis 12,000 Soldaten [{n}]" and not answer.refused
    assert len(translate_llm.prompts) == 1


def test_a_german_question_gets_the_german_phrase_without_translating(corpus_settings):
    question = "Wie viele nordkoreanische Soldaten wurden nach Russland geschickt?"
    probe, _ = make_answerer(corpus_settings, "")
    n = passage_with(probe, question, "10.000", "12.000")
    answerer, _, translate_llm = make_two_step(corpus_settings, f"10.000 bis 12.000 Soldaten [{n}]", "unused")
    answer = answerer.ask(question)
    assert answer.answer == f"10.000 bis 12.000 Soldaten [{n}]" and not answer.refused
    assert translate_llm.prompts == []


def test_a_refusal_is_never_translated(corpus_settings):
    answerer, answer_llm, translate_llm = make_two_step(corpus_settings, "NOT FOUND", "unused")
    answer = answerer.ask("How many tanks did North Korea send to Russia?")
    assert answer.refused and answer.answer.startswith("The articles do not answer") and answer.citations == []
    assert answer_llm.prompts and translate_llm.prompts == []


def test_a_wrongly_numbered_citation_is_moved_to_the_passage_holding_the_phrase(corpus_settings):
    question = "Wie viele nordkoreanische Soldaten wurden nach Russland geschickt?"
    probe, _ = make_answerer(corpus_settings, "")
    passages = probe.retriever.run(question)
    n = passage_with(probe, question, "10.000 bis 12.000")
    wrong = next(i for i, p in enumerate(passages, start=1) if "10.000 bis 12.000" not in p.text)
    answerer, _ = make_answerer(corpus_settings, f"10.000 bis 12.000 [{wrong}]")
    answer = answerer.ask(question)
    assert [c.n for c in answer.citations] == [n] and answer.answer == f"10.000 bis 12.000 [{n}]"


def test_the_answer_names_the_sentence_it_rests_on_in_the_cited_passage(corpus_settings):
    question = "Wie viele nordkoreanische Soldaten wurden nach Russland geschickt?"
    probe, _ = make_answerer(corpus_settings, "")
    n = passage_with(probe, question, "10.000", "12.000")
    answerer, _ = make_answerer(corpus_settings, f"10.000 bis 12.000 Soldaten [{n}]")
    answer = answerer.ask(question)
    support = answer.support
    assert support is not None and support.passage == n
    cited = answer.passages[n - 1].text
    assert cited[support.start : support.end] == support.text and "10.000 bis 12.000 Soldaten" in support.text
    assert answer.to_json()["support"]["text"] == support.text


def test_a_refusal_rests_on_no_sentence(corpus_settings):
    answerer, _ = make_answerer(corpus_settings, "NOT FOUND")
    answer = answerer.ask("How many tanks did North Korea send?")
    assert answer.refused and answer.support is None and answer.to_json()["support"] is None

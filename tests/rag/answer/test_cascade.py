"""The cascade reader: one evidence at a time, the next one only when the model finds nothing.

The LLM is a scripted fake that answers from what it is shown (the cascade's own logic is under test);
the store, the retrieval and the embedding model are real. The real LLM is in test_answering_e2e.py.
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag.answer.answering import Answerer
from rag.answer.prompting import NOT_FOUND
from rag.answer.results import Answer, Reading, Token
from rag.models.embedding import get_embeddings
from rag.retrieval.retrieving import Retriever
from rag.store import open_store

QUESTION = "How many North Korean soldiers were sent to Russia?"
WHO = "Who sent the North Korean soldiers to Russia?"


class ReadingLLM(GenericFakeChatModel):
    """Replies ``reply(passages shown)`` to each question, streamed word by word; keeps what it was shown."""

    reply: Callable[[str], str]
    shown: list = []

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        passages = messages[-1].content
        self.shown.append(passages)
        self.messages = iter([AIMessage(content=self.reply(passages))])
        yield from super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)


def cascade(settings, reply: Callable[[str], str], depth: int = 3) -> tuple[Answerer, ReadingLLM]:
    settings = settings.model_copy(update={"cascade_depth": depth})
    llm = ReadingLLM(messages=iter([]), reply=reply, shown=[])
    store = open_store(settings, get_embeddings(settings))
    return Answerer(settings, Retriever(store, settings.top_k), llm), llm


def answers_from(*words: str) -> Callable[[str], str]:
    """A model that copies ``words`` when the evidence it reads holds them, else says NOT FOUND."""
    return lambda shown: f"{words[0]} [1]" if all(w in shown for w in words) else NOT_FOUND


def test_the_first_evidence_alone_is_read_when_it_answers(corpus_settings):
    answerer, llm = cascade(corpus_settings, lambda shown: "Kursk [1]")
    events = list(answerer.stream("Where are the North Korean soldiers fighting?"))
    answer = events[-1]
    assert isinstance(answer, Answer) and not answer.refused
    assert [e.n for e in events if isinstance(e, Reading)] == [1]
    assert len(llm.shown) == 1 and llm.shown[0].count("[1]") == 1 and "[2]" not in llm.shown[0]
    assert answer.evidences_read == 1 and [c.n for c in answer.citations] == [1]
    assert answer.citations[0].text == answer.passages[0].text  # the citation is the evidence read


def second_time_lucky() -> Callable[[str], str]:
    """A model that finds nothing in the first evidence and copies a word of the second."""
    calls = []

    def reply(shown: str) -> str:
        calls.append(shown)
        if len(calls) == 1:
            return NOT_FOUND
        text = shown.split(") ", 1)[-1]  # after "[1] (title) "
        word = next(w.strip('.,;:!?"') for w in text.split() if w.istitle() and w.isalpha() and len(w) > 4)
        return f"{word} [1]"

    return reply


def test_the_next_evidence_is_read_when_the_first_lacks_the_answer(corpus_settings):
    answerer, llm = cascade(corpus_settings, second_time_lucky())
    events = list(answerer.stream(WHO))
    answer = events[-1]
    assert [(r.n, r.of) for r in events if isinstance(r, Reading)] == [(1, 3), (2, 3)]
    assert len(llm.shown) == 2 and llm.shown[0] != llm.shown[1]
    assert not answer.refused and answer.evidences_read == 2
    # the citation is the second evidence, the one the answer was read from (the model saw it as [1]),
    # numbered [2] as the reader sees the evidences, in the answer's text too
    evidences = answerer.searching.invoke({"question": WHO, "language": "en", "sources": None})["passages"]
    assert answer.citations[0].n == 2 and answer.citations[0].text == evidences[1].text
    assert answer.answer.endswith("[2]") and answer.passages == evidences
    assert (answer.citations[0].start, answer.citations[0].end) == (evidences[1].start, evidences[1].end)
    # the refusal of the first evidence was never shown as tokens
    assert "NOT" not in "".join(e.text for e in events if isinstance(e, Token))


def test_no_evidence_answering_is_a_refusal_after_depth_readings(corpus_settings):
    answerer, llm = cascade(corpus_settings, lambda shown: NOT_FOUND, depth=2)
    events = list(answerer.stream(QUESTION))
    answer = events[-1]
    assert answer.refused and answer.citations == [] and answer.evidences_read == 2
    assert len(llm.shown) == 2 and llm.shown[0] != llm.shown[1]
    assert [e for e in events if isinstance(e, Token)] == []
    assert answer.lead is not None and answer.lead.source == "nordkorea-soldaten-russland.txt"


def test_a_number_not_in_the_evidence_read_sends_the_model_on(corpus_settings):
    replies = iter(["25.000 Soldaten [1]", NOT_FOUND, NOT_FOUND])
    answerer, llm = cascade(corpus_settings, lambda shown: next(replies))
    answer = answerer.ask(QUESTION)
    # sent on past the first evidence, to every evidence there is (the index may give fewer than three)
    assert answer.refused and len(llm.shown) >= 2


def test_a_count_question_answered_without_a_count_is_refused(corpus_settings):
    answerer, _ = cascade(corpus_settings, lambda shown: "Panzerhaubitzen [1]", depth=1)
    answer = answerer.ask("How many tanks did North Korea send to Russia?")
    assert answer.refused


def test_the_cascade_prompt_shows_worked_examples_with_one_passage(corpus_settings):
    answerer, llm = cascade(corpus_settings, lambda shown: "Kursk [1]")
    system, *examples, human = answerer.prompt.format_messages(passages="[1] x", question="q")
    assert examples and all("[2]" not in e.content for e in examples)

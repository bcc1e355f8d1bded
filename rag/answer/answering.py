"""Answering: retrieve passages, prompt the LLM with them numbered, stream a short cited answer, check it.

Usage::

    answerer = build_answerer(settings)   # or Answerer(settings, retriever, chat_model, translator)
    answer = answerer.ask("how many soldiers?")
    answer.answer, answer.citations[0].text, answer.refused
    for event in answerer.stream("Wie viele Soldaten?"):   # QuickAnswer?, Waiting?, Token(...)*, then the Answer
        ...

The chain is plain LCEL in two halves, ``{question} -> +found -> +decision -> +passages`` and then
``+answer``, where the answer step is either the prompt | LLM | parser pipeline or, when the
answerability gate (:mod:`rag.answer.gating`) refuses the question, a refusal that never calls the
LLM; between the halves an answer waits for its turn on the model (:mod:`rag.answer.turns`).
Everything the model writes is then checked (:mod:`rag.answer.finishing`) before it is shown as fact.
What the answerer yields is in :mod:`rag.answer.results`, the prompt in :mod:`rag.answer.prompting`.
"""

from __future__ import annotations

import contextlib
import re
import time
import unicodedata
from collections.abc import Generator, Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from rag.answer.finishing import finish_answer, renumbered
from rag.answer.gating import AnswerGate
from rag.answer.prompting import NOT_FOUND, build_prompt, format_passages
from rag.answer.quick import QuickAnswer, quick_answer
from rag.answer.results import Answer, QuestionError, Reading, Token, Waiting
from rag.answer.translating import Translator
from rag.answer.turns import ModelTurns
from rag.models.llm import calling_llm
from rag.retrieval.evidence import evidence
from rag.retrieval.retrieving import Passage, Retrieval, Retriever, build_retriever
from rag.settings import Settings
from rag.store import reading
from rag.text.language import detect_language, message


def clean_question(raw: str, limit: int) -> str:
    """The question with control characters removed; :class:`QuestionError` if unusable.

    Usage: ``clean_question("How many\x00 soldiers?", 2000)  # "How many soldiers?"``
    """
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in raw)
    text = re.sub(r"\s+", " ", text).strip()
    language = detect_language(text)
    if not any(ch.isalnum() for ch in text):
        raise QuestionError(message("empty_question", language))
    if len(text) > limit:
        raise QuestionError(message("too_long", language, length=len(text), limit=limit))
    return text


class Answerer:
    """Question in, checked and cited answer out (streamed or whole)."""

    def __init__(
        self, settings: Settings, retriever: Retriever, chat_model: BaseChatModel, translator: Translator | None = None
    ) -> None:
        """
        Args:
            settings: the gate's weights, generation limits and question length limit.
            retriever: finds the passages the model is given.
            chat_model: writes the phrase (any LangChain chat model; llama.cpp locally).
            translator: puts the phrase into the question's language; ``None`` answers in the
                passage's own words.
        """
        self.settings = settings
        self.retriever = retriever
        self.chat_model = chat_model
        # Puts the copied phrase into the question's language; without one the answer is the
        # passage's own words (still right, cited and checked).
        self.translator = translator
        # One evidence at a time has worked examples of its own (rag.answer.prompting.FEW_SHOT_ONE).
        self.prompt = build_prompt(one_passage=settings.cascade_depth > 0)
        self.gate = AnswerGate.from_settings(settings)
        # Taken while the LLM writes and translates an answer: one model on two cores writes one answer
        # at a time, while retrieval, the gate's refusals and instant answers of other questions go on.
        # The chat's follow-up rewriter takes turns on it too (rag.answer.condensing).
        self.turns = ModelTurns()
        self.searching, self.answering = self._build_chains()

    def _build_chains(self) -> tuple[Runnable, Runnable]:
        def answer_step(inputs: dict[str, Any]) -> Runnable | str:
            passages: list[Passage] = inputs["passages"]
            if not passages or not inputs["decision"].answerable:
                return NOT_FOUND  # refusal as a code path: the LLM is not asked at all
            return (
                RunnableLambda(lambda x: {"passages": format_passages(x["passages"]), "question": x["question"]})
                | self.prompt
                | self.chat_model.bind(stop=["\n\n", "\nQuestion:"])
                | StrOutputParser()
            )

        def search(x: dict[str, Any]) -> Retrieval:
            return self.retriever.search(x["question"], x.get("sources"))

        def read(x: dict[str, Any]) -> list[Passage]:
            return evidence(self.settings, self.retriever.store, x["found"].passages)

        # Two halves, so that stream() can wait for the model between them: searching, the gate's
        # decision and the passages read, then the answer.
        searching = (
            RunnablePassthrough.assign(found=RunnableLambda(search))
            | RunnablePassthrough.assign(decision=RunnableLambda(lambda x: self.gate.run(x["found"])))
            | RunnablePassthrough.assign(passages=RunnableLambda(read))
        )
        return searching, RunnablePassthrough.assign(answer=RunnableLambda(answer_step))

    def stream(
        self, question: str, sources: list[str] | None = None
    ) -> Iterator[QuickAnswer | Waiting | Reading | Token | Answer]:
        """Yield the :class:`QuickAnswer` right after retrieval (if the gate lets the question through),
        :class:`Waiting` if the model is busy with other answers, :class:`Reading` before each evidence
        the cascade reads, the answer's tokens as they come, then the checked :class:`Answer`."""
        start = time.perf_counter()
        text = clean_question(question, self.settings.max_question_chars)
        language = detect_language(text)
        timings: dict[str, float] = {}
        quick: QuickAnswer | None = None
        inputs = {"question": text, "language": language, "sources": sources}
        # A damaged index may only show when searched: say so with the fix, not a Chroma trace.
        with reading(self.settings), calling_llm(self.settings):
            found = self.searching.invoke(inputs)
            decision, passages = found["decision"], found["passages"]
            timings["retrieve"] = (time.perf_counter() - start) * 1000
            # Before the LLM starts: the user sees the fact while the answer is written.
            quick = self._quick(text, passages) if decision.answerable else None
            timings["quick"] = (time.perf_counter() - start) * 1000
            if quick is not None:
                yield quick
            # A refusal by the gate needs no model; an answer waits here for the one model (the
            # instant answer already shown), so refusals never queue behind other readers' answers.
            if decision.answerable:
                yield from self.turns.wait()
            with self.turns.held() if decision.answerable else contextlib.nullcontext():
                if decision.answerable and passages and self.settings.cascade_depth > 0:
                    final = yield from self._cascade(found, timings, start)
                else:
                    raw = yield from self._generate(found, timings, start)
                    # Translates: still the model's turn.
                    final = finish_answer(text, raw, passages, language, timings, self.translator)
                    final.evidences_read = 1 if decision.answerable and passages else 0
        final.quick_answer = quick
        final.decision = decision
        yield final

    def _generate(
        self, found: dict[str, Any], timings: dict[str, float], start: float, hold_refusal: bool = False
    ) -> Generator[Token, None, str]:
        """Stream the answer step on ``found``; return the whole reply.

        ``hold_refusal``: tokens that could still become the refusal word are held back, so a reader of
        the cascade never sees a "NOT FOUND" that only means "read the next evidence".
        """
        raw, shown = "", 0
        for chunk in self.answering.stream(found):
            if "answer" not in chunk or not chunk["answer"]:
                continue
            raw += chunk["answer"]
            said = raw.strip().upper()
            if hold_refusal and (NOT_FOUND.startswith(said) or said.startswith(NOT_FOUND)):
                continue
            if "first_token" not in timings:
                timings["first_token"] = (time.perf_counter() - start) * 1000
            yield Token(raw[shown:])
            shown = len(raw)
        timings["generate"] = (time.perf_counter() - start) * 1000 - timings["retrieve"]
        timings["total"] = (time.perf_counter() - start) * 1000
        return raw

    def _cascade(self, found: dict[str, Any], timings: dict[str, float], start: float) -> Generator[Any, None, Answer]:
        """Read the evidences one at a time, best first, until one answers; the answer cites the one it read.

        An evidence whose reply is refused after checking (NOT FOUND, a count without a number, numbers
        that are not in it) sends the model to the next; when none of the first ``cascade_depth`` answers,
        the refusal names the best one's article as the lead.
        """
        question, language = found["question"], found["language"]
        evidences: list[Passage] = found["passages"][: self.settings.cascade_depth]
        for n, evidence_ in enumerate(evidences, start=1):
            yield Reading(n, len(evidences), evidence_.title or evidence_.name, evidence_.name)
            raw = yield from self._generate({**found, "passages": [evidence_]}, timings, start, hold_refusal=True)
            answer = finish_answer(question, raw, [evidence_], language, timings, self.translator)
            answer.evidences_read = n
            if not answer.refused:
                return renumbered(answer, n, found["passages"])
        refused = finish_answer(question, NOT_FOUND, found["passages"], language, timings, self.translator)
        refused.evidences_read = len(evidences)
        return refused

    def _quick(self, question: str, passages: list[Passage]) -> QuickAnswer | None:
        embeddings = self.retriever.store.embeddings
        return quick_answer(question, passages, embeddings)

    def warm_up(self) -> None:
        """Evaluate the fixed part of the prompt (rules and worked examples) once, at start-up.

        llama.cpp reuses the longest common prefix of consecutive prompts, so afterwards each
        question pays only for its own passages: about 400 tokens (~7 s on two cores) less for
        the first question.
        """
        fixed = self.prompt.format_messages(passages="", question="")[:-1]
        self.chat_model.invoke([*fixed, HumanMessage("Passages:")], max_tokens=1)
        if self.translator is not None:
            self.translator.warm_up()

    def ask(self, question: str, sources: list[str] | None = None) -> Answer:
        """The whole checked answer at once."""
        *_, final = self.stream(question, sources)
        assert isinstance(final, Answer)
        return final


def build_answerer(settings: Settings) -> Answerer:
    """The answerer for these settings: the store's retriever and the configured LLM.

    Usage: ``build_answerer(get_settings()).ask("how many soldiers?")``

    Raises :class:`rag.store.IndexMissingError` before the first ingestion.
    """
    from rag.answer.condensing import own_context
    from rag.models.embedding import get_embeddings
    from rag.models.llm import get_chat_model
    from rag.store import open_store

    store = open_store(settings, get_embeddings(settings))
    store.preload()  # the vector index loads while the models do
    chat_model = get_chat_model(settings)
    # Translating in the answer's own llama.cpp context would evict its cached rules and examples;
    # the follow-up rewriter's context (rag.answer.condensing) is small and shared.
    translator = Translator(own_context(chat_model) if settings.followup_own_context else chat_model)
    return Answerer(settings, build_retriever(settings, store), chat_model, translator)

"""Condensing: a follow-up question and the chat so far become one standalone question.

The retriever embeds only the question it is given: "and how many were killed?" on its own is about
nothing, so before retrieval the LLM rewrites it with the conversation into "How many North Korean
soldiers were killed?", in the language the user wrote the follow-up in.

Usage::

    condenser = Condenser(own_context(chat_model))   # a local model gets a llama.cpp context of its own
    turns = [Turn("How many soldiers did North Korea send?", "10,000 to 12,000 soldiers [1]")]
    condenser.run("and how many were killed?", turns)   # "How many North Korean soldiers were killed?"
    condenser.run("how many soldiers?", [])             # no history: returned as it is, no LLM call
    condenser.chain.invoke({"question": ..., "history": ..., "language": "English"})  # the runnable
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda

from rag.answer.prompting import few_shot_prompt
from rag.answer.turns import ModelTurns
from rag.models.llm import LlamaCppChatModel
from rag.text.language import NAMES, detect_language
from rag.text.markers import strip_markers
from rag.text.numbers import unsupported_numbers

log = logging.getLogger(__name__)

#: Earlier exchanges shown to the model: the last few are what a follow-up refers to, and a short
#: prompt keeps the rewrite at a second or two on a CPU.
MAX_TURNS = 3
#: Longest earlier question or answer shown, in characters: bounds the prompt (a pasted essay).
MAX_TURN_CHARS = 300
#: llama.cpp context of the condenser's own: rules and examples (~350 tokens), three short turns and
#: the longest question newsqa takes (NEWSQA_MAX_QUESTION_CHARS) fit in it.
CONTEXT_TOKENS = 2048

SYSTEM_PROMPT = """You rewrite the user's follow-up question into one standalone question that can be \
understood without the conversation. Replace words like "they", "it", "there", "and" with what they \
refer to in the conversation. Keep every detail of the follow-up. Do not answer the question. If the \
follow-up is already standalone, repeat it unchanged. Write the question in the language you are told."""

HUMAN_PROMPT = """Conversation:
{history}

Follow-up question: {question}
Standalone question in {language}:"""

# Worked examples as earlier turns: a 1.5B model copies a form far better than it follows rules.
# They are about other stories than the shipped article, so a test question is never answered
# by copying an example.
FEW_SHOT: list[tuple[str, str, str, str]] = [
    (
        "User: How many customers protested in front of the Wiener Stadtwerke?\nAssistant: 1,500 to 2,000 customers",
        "and how many people work there?",
        "English",
        "How many people work at the Wiener Stadtwerke?",
    ),
    (
        "User: Wann soll der neue Bahnhof in Graz eröffnet werden?\nAssistant: im Herbst 2027",
        "Und was kostet er?",
        "German",
        "Was kostet der neue Bahnhof in Graz?",
    ),
    (
        "User: Wie viele Häuser wurden in Linz evakuiert?\nAssistant: rund 300 Häuser",
        "Who won the football World Cup in 2014?",
        "English",
        "Who won the football World Cup in 2014?",
    ),
]

_PREFIX = re.compile(r"^\s*(?:standalone\s+question|eigenständige\s+frage|question|frage)\s*[:：]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the chat, as plain text."""

    question: str
    answer: str


def format_history(turns: Sequence[Turn]) -> str:
    """The last :data:`MAX_TURNS` exchanges as the model reads them (citation markers dropped)."""
    lines = []
    for turn in list(turns)[-MAX_TURNS:]:
        answer = " ".join(strip_markers(turn.answer).split())[:MAX_TURN_CHARS]
        lines += [f"User: {' '.join(turn.question.split())[:MAX_TURN_CHARS]}", f"Assistant: {answer}"]
    return "\n".join(lines)


def build_prompt() -> ChatPromptTemplate:
    """System rules, the worked examples as earlier turns, then the conversation and the follow-up."""
    examples = [dict(history=h, question=q, language=lang, answer=s) for h, q, lang, s in FEW_SHOT]
    return few_shot_prompt(SYSTEM_PROMPT, HUMAN_PROMPT, examples)


def clean_rewrite(raw: str, question: str, language: str, said: Sequence[str] = ()) -> str:
    """The model's rewrite made safe to search with; the original ``question`` if it is unusable.

    Unusable: empty, far longer than a question, in another language than the follow-up (the
    answer is written in the language of the question it gets), or holding a number the user did
    not write in ``question`` or ``said`` (earlier questions): numbers in the question are the
    user's and exempt from the answer's number check, so one taken from an earlier *answer* would
    let the new answer repeat it unchecked.
    """
    lines = [line for line in raw.strip().splitlines() if line.strip()]
    text = _PREFIX.sub("", lines[0] if lines else "").strip().strip("\"'„“”«»").strip()
    if not text or len(text) > 3 * len(question) + 200:
        return question
    if detect_language(text, default=language) != language:
        return question
    if unsupported_numbers(text, [question, *said]):
        return question
    return text


def own_context(chat_model: BaseChatModel) -> BaseChatModel:
    """The same local model in a llama.cpp context of its own (other models: ``chat_model`` itself).

    llama.cpp reuses the longest prefix shared with the previous prompt of its context. Rewriting
    and answering in one context would evict each other's fixed rules and examples (~400 tokens,
    seconds on two cores) on every follow-up; two contexts keep both. The weights are mapped from
    the same file, so the second context costs its KV cache (a few tens of MB).
    """
    if isinstance(chat_model, LlamaCppChatModel):
        return chat_model.model_copy(update={"n_ctx": CONTEXT_TOKENS})
    return chat_model


class Condenser:
    """Follow-up question plus chat history in, standalone question out (a LangChain runnable)."""

    def __init__(self, chat_model: BaseChatModel, max_tokens: int = 60, turns: ModelTurns | None = None) -> None:
        """
        Args:
            chat_model: the model that rewrites (see :func:`own_context`).
            max_tokens: longest rewrite; a question is one line.
            turns: taken while the model writes; the chat shares the answerer's (one generation at a time).
        """
        self.chat_model = chat_model
        self.turns = turns or ModelTurns()
        self.prompt = build_prompt()
        # One line: the model stops at the end of the question instead of going on to answer it.
        self.chain: Runnable = self.prompt | chat_model.bind(stop=["\n"], max_tokens=max_tokens) | StrOutputParser()

    def warm_up(self) -> None:
        """Evaluate the fixed part of the prompt (rules and examples) once, at start-up."""
        fixed = self.prompt.format_messages(history="", question="", language="English")[:-1]
        self.chat_model.invoke([*fixed, HumanMessage("Conversation:")], max_tokens=1)

    def run(self, question: str, turns: Sequence[Turn]) -> str:
        """The standalone form of ``question``; ``question`` itself when there is no history."""
        if not turns:
            return question
        language = detect_language(question, default=detect_language(turns[-1].question))
        inputs = {"history": format_history(turns), "question": question, "language": NAMES.get(language, "English")}
        try:
            with self.turns:
                raw = self.chain.invoke(inputs)
        except Exception as exc:  # a rewrite is a help, never a reason for no answer: search as asked
            log.warning("could not rewrite the follow-up question: %s", exc)
            return question
        return clean_rewrite(raw, question, language, [turn.question for turn in turns])

    @property
    def runnable(self) -> Runnable:
        """``{"question": str, "turns": [Turn, ...]}`` -> standalone question, for LCEL pipelines."""
        return RunnableLambda(lambda x: self.run(x["question"], x.get("turns", [])))

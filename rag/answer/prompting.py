"""Prompts with worked examples: the system rules, the examples as earlier turns, then the real turn.

Usage::

    prompt = few_shot_prompt(SYSTEM, "Question: {question}", [{"question": "Wann?", "answer": "2027 [1]"}])
    prompt.format_messages(question="How many soldiers?")   # system, human, ai, human

A 1.5B model copies the form of an example far more reliably than it follows a description, and
examples that are the same for every question stay in llama.cpp's prompt cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from langchain_core.prompts import ChatPromptTemplate, FewShotChatMessagePromptTemplate

#: The key of an example that holds the model's reply; the others fill the human template.
ANSWER = "answer"


def few_shot_prompt(system: str, human: str, examples: Sequence[Mapping[str, str]]) -> ChatPromptTemplate:
    """``system``, then each example as a ``human`` turn answered by its ``answer``, then ``human``.

    Example values are inserted as values, never parsed as templates, so braces in them are safe.
    """
    turn = ChatPromptTemplate.from_messages([("human", human), ("ai", "{" + ANSWER + "}")])
    shots = FewShotChatMessagePromptTemplate(example_prompt=turn, examples=[dict(e) for e in examples])
    return ChatPromptTemplate.from_messages([("system", system), shots, ("human", human)])

"""A scripted chat model for UI tests that both rewrites follow-ups and answers, like the real one.

Usage::

    llm = ChatScriptLLM(answers={"killed": "4.000 [1]"}, rewrites={"and how many were killed?": "How many ... killed?"})
    llm.condense_prompts, llm.answer_prompts       # what each kind of call was shown

Condensing prompts are recognised by their system message (rag.answer.condensing), answering prompts are
the rest; the answer is the one whose key occurs in the question (first match), else ``default``.
Streams word by word with ``delay`` seconds per word, so the page sees a real token stream.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from rag.answer.condensing import SYSTEM_PROMPT as CONDENSE_SYSTEM


class ChatScriptLLM(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    answers: dict[str, str] = Field(default_factory=dict)
    rewrites: dict[str, str] = Field(default_factory=dict)
    default: str = "NOT FOUND"
    delay: float = 0.02
    condense_prompts: list[list[BaseMessage]] = Field(default_factory=list)
    answer_prompts: list[list[BaseMessage]] = Field(default_factory=list)
    lock: Any = Field(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "chat-script-test"

    def _reply(self, messages: list[BaseMessage]) -> str:
        last = str(messages[-1].content)
        with self.lock:
            if str(messages[0].content) == CONDENSE_SYSTEM:
                self.condense_prompts.append(messages)
                follow_up = last.split("Follow-up question:", 1)[1].split("\n", 1)[0].strip()
                return self.rewrites.get(follow_up, follow_up)
            self.answer_prompts.append(messages)
        question = last.split("Question:", 1)[-1].split("\n", 1)[0].lower()
        return next((reply for key, reply in self.answers.items() if key.lower() in question), self.default)

    def _stream(
        self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for i, word in enumerate(self._reply(messages).split(" ")):
            time.sleep(self.delay)
            yield ChatGenerationChunk(message=AIMessageChunk(content=word if i == 0 else " " + word))

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        text = "".join(str(chunk.message.content) for chunk in self._stream(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

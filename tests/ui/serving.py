"""Helpers for tests of the served chat: the app launched as ``newsqa chat`` launches it, in-process.

Usage::

    from tests.ui.serving import EchoLLM, free_port, serve_app
    llm = EchoLLM(delay=0.05)
    url, demo = serve_app(settings, llm)            # ui.server.serve(): same queue, paths, options
    Client(url).predict("How many soldiers? (ticket kq)", api_name="/chat")
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import gradio as gr
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from rag.answer.answering import Answerer
from rag.models.embedding import get_embeddings
from rag.retrieval.retrieving import Retriever
from rag.settings import Settings
from rag.store import open_store
from ui.chat import build_app
from ui.server import serve

TICKET = re.compile(r"ticket ([a-z]+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gauge:
    """Thread-safe count of generations running now, the most seen at once, and all prompts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.prompts: list[list[BaseMessage]] = []

    def enter(self, messages: list[BaseMessage]) -> None:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.prompts.append(messages)

    def leave(self) -> None:
        with self._lock:
            self.active -= 1


class EchoLLM(BaseChatModel):
    """A thread-safe scripted LLM: streams ``reply`` word by word, ``{ticket}`` taken from the question.

    The ticket (``ticket <letters>`` in the question) makes every answer session-specific, so
    answers mixed up between sessions show; letters, because a number the passages lack would be
    refused as invented. ``delay`` seconds per word keep a generation running long enough for
    others to queue behind it.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    reply: str = "10.000 to 12.000 soldiers, ticket {ticket} [1]"
    delay: float = 0.02
    gauge: Gauge = Field(default_factory=Gauge)

    @property
    def _llm_type(self) -> str:
        return "echo-test"

    def _text(self, messages: list[BaseMessage]) -> str:
        question = str(messages[-1].content).split("Question:", 1)[-1]
        found = TICKET.search(question)
        return self.reply.format(ticket=found.group(1) if found else "none")

    def _stream(
        self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        self.gauge.enter(messages)
        try:
            for i, word in enumerate(self._text(messages).split(" ")):
                time.sleep(self.delay)
                yield ChatGenerationChunk(message=AIMessageChunk(content=word if i == 0 else " " + word))
        finally:
            self.gauge.leave()

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.message.content for chunk in self._stream(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def serve_app(settings: Settings, llm: BaseChatModel, auth: tuple[str, str] | None = None) -> tuple[str, gr.Blocks]:
    """Serve the chat on a free port with ``llm``; returns its URL and the app (close it after)."""
    store = open_store(settings, get_embeddings(settings))
    answerer = Answerer(settings, Retriever(store, settings.top_k), llm)
    demo = build_app(settings, answerer)
    port = free_port()
    serve(demo, settings, host="127.0.0.1", port=port, auth=auth, block=False, quiet=True)
    return f"http://127.0.0.1:{port}/", demo

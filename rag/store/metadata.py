"""What the collection records about how its vectors and chunks were made, and the check on every open.

Usage::

    client.create_collection(name, metadata=collection_metadata(settings, embeddings))
    check_metadata(settings, collection.metadata or {}, embeddings)   # IndexMismatchError if they differ

The collection records, when it is made, the embedding model and its dimension and every other
setting that changes what a stored vector or chunk is (:data:`rag.settings.INDEX_SETTINGS`: backend,
pooling, sentence vectors, chunk size and overlap, the prefixes). An index built with one value is
never queried or extended with another: passages of two chunkings, or vectors of two kinds, side by
side, would be searched as if they were alike.
"""

from __future__ import annotations

import json

from langchain_core.embeddings import Embeddings

from rag.settings import INDEX_SETTINGS, Settings, index_settings
from rag.store.errors import IndexMismatchError

MODEL_KEY = "newsqa_embedding_model"
DIM_KEY = "newsqa_dimension"
#: The keys of the other index settings: ``newsqa_pooling``, ``newsqa_chunk_tokens``, ...
SETTING_KEYS = {name: f"newsqa_{name}" for name in INDEX_SETTINGS if name != "embedding_model"}
#: Defaults that changed since the settings were first recorded: what an index without the key was made with.
UNRECORDED: dict[str, object] = {"pooling": "off"}


def model_id(embeddings: Embeddings) -> str:
    """The name the index records for the embedding model (its class name if it has none)."""
    return getattr(embeddings, "model_id", type(embeddings).__name__)


def dimension(embeddings: Embeddings) -> int:
    """The embeddings' vector size (one probe embedding if they do not say)."""
    dim = getattr(embeddings, "dimension", None)
    return int(dim) if dim else len(embeddings.embed_query("dimension probe"))


def collection_metadata(settings: Settings, embeddings: Embeddings) -> dict[str, str | int | bool]:
    """The metadata a new collection is made with."""
    values = index_settings(settings)
    return {
        MODEL_KEY: model_id(embeddings),
        DIM_KEY: dimension(embeddings),
        **{key: values[name] for name, key in SETTING_KEYS.items()},
    }


def check_metadata(settings: Settings, meta: dict, embeddings: Embeddings) -> None:
    """Raise :class:`IndexMismatchError` naming each setting the index was built with another value of."""
    built_with = meta.get(MODEL_KEY)
    if built_with != model_id(embeddings):
        raise IndexMismatchError(
            f"The index in {settings.index_dir} was built with the embedding model "
            f"'{built_with}' ({meta.get(DIM_KEY)} dimensions), but the current setting "
            f"NEWSQA_EMBEDDING_MODEL is '{model_id(embeddings)}'. Rebuild it with `newsqa ingest --rebuild`, "
            "or set NEWSQA_EMBEDDING_MODEL back."
        )
    current = index_settings(settings)
    # An index made before these settings were recorded (only the model and dimension were) lacks
    # their keys. Which values made it cannot be known any more; a missing key counts as what an index
    # made with no NEWSQA_* variable set held then: such an index keeps working with those settings,
    # and is refused with any other value.
    indexed = {
        name: meta.get(key, UNRECORDED.get(name, Settings.model_fields[name].default))
        for name, key in SETTING_KEYS.items()
    }
    differ = [name for name in SETTING_KEYS if indexed[name] != current[name]]
    if differ:
        was = ", ".join(f"{_variable(name)}={_shown(indexed[name])}" for name in differ)
        now = ", ".join(f"{_variable(name)}={_shown(current[name])}" for name in differ)
        raise IndexMismatchError(
            f"The index in {settings.index_dir} was built with {was}, but the current "
            f"{'settings are' if len(differ) > 1 else 'setting is'} {now}. Rebuild it with "
            "`newsqa ingest --rebuild` (name your folders if you ingested others than the corpus folder), "
            f"or set {'them' if len(differ) > 1 else 'it'} back."
        )


def _variable(name: str) -> str:
    return f"NEWSQA_{name.upper()}"


def _shown(value: object) -> str:
    # As the variable would be written: "passage: " quoted (its space matters), true/false, 100.
    return json.dumps(value, ensure_ascii=False)

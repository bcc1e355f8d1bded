"""The int8 ONNX Runtime backend: the same vectors as the torch model, within quantisation error."""

from __future__ import annotations

import numpy as np

from rag.models.embedding import PassageEmbeddings
from rag.models.onnx_e5 import is_current, onnx_path

TEXTS = [
    "Westliche Geheimdienste sprechen von 10.000 bis 12.000 Soldaten.",
    "Die Koralmbahn verbindet Graz und Klagenfurt.",
    "Es regnet.",
    "How many North Korean soldiers were sent to Russia? " * 3,
    "Die Regierung in Wien beschloss am Montag ein neues Gesetz zum Klimaschutz. " * 60,  # > 512 tokens: cut
]


def backends(settings) -> tuple[PassageEmbeddings, PassageEmbeddings]:
    return (
        PassageEmbeddings.from_settings(settings.model_copy(update={"embedding_backend": "torch"})),
        # Each text encoded whole, as torch does (pooled passages: tests/rag/models/test_embedding.py).
        PassageEmbeddings.from_settings(
            settings.model_copy(update={"embedding_backend": "onnx-int8", "pooling": "off"})
        ),
    )


def test_int8_vectors_match_the_torch_model(settings):
    torch_emb, onnx_emb = backends(settings)
    for embed in ("embed_documents", "embed_query"):
        for text in TEXTS:
            a = np.array(
                getattr(torch_emb, embed)(text) if embed == "embed_query" else torch_emb.embed_documents([text])[0]
            )
            b = np.array(
                getattr(onnx_emb, embed)(text) if embed == "embed_query" else onnx_emb.embed_documents([text])[0]
            )
            assert abs(np.linalg.norm(b) - 1) < 1e-4
            assert float(a @ b) > 0.98, (embed, text)


def test_batches_are_length_sorted_but_come_back_in_input_order(settings):
    _, onnx_emb = backends(settings)
    one_by_one = np.array([onnx_emb.embed_documents([t])[0] for t in TEXTS])
    together = np.array(onnx_emb.embed_documents(TEXTS))
    # Not bit-identical: int8 activations are scaled per batch (dynamic quantisation).
    assert (one_by_one * together).sum(axis=1).min() > 0.995
    # the ranking a retriever sees is the model's: the related sentence is nearest to the question
    query = np.array(onnx_emb.embed_query("Wie viele Soldaten schickte Nordkorea?"))
    assert int(np.argmax(together[:3] @ query)) == 0


def test_batches_take_more_short_texts_within_a_token_budget():
    from rag.models.onnx_e5 import BATCH_TOKENS, token_batches

    short, long = BATCH_TOKENS // 25, BATCH_TOKENS // 2
    lengths = [short] * 30 + [long] * 3 + [BATCH_TOKENS]
    batches = token_batches(lengths, batch_size=2)
    assert [i for b in batches for i in b] == list(range(len(lengths)))  # every text once, in order
    assert max(len(b) * max(lengths[i] for i in b) for b in batches if len(b) > 2) <= BATCH_TOKENS
    # 25 short texts fill one call; long ones go batch_size at a time, as before
    assert [len(b) for b in batches] == [25, 5, 2, 2]


def test_the_export_is_built_into_the_model_cache_and_kept(settings):
    _, onnx_emb = backends(settings)
    onnx_emb.prepare()
    folder = onnx_path(onnx_emb.model_dir / "multilingual-e5-small").parent.parent
    assert is_current(folder) and onnx_path(folder).stat().st_size < 200 * 2**20  # int8, not 470 MB

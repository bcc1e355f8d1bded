"""Retrieving: reciprocal-rank fusion by hand, and the Retriever on a real (tiny, inline) index.

The index is built once per module from a few short German articles written here, with the real
embedding model; the sentence records, BM25 fusion and the ``sources`` filter run as in the product,
and are checked through the Retriever's public ``run`` and ``search`` only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.indexing import ingest
from rag.models.embedding import get_embeddings
from rag.retrieval.keyword import keyword_search
from rag.retrieval.retrieving import POOL, Passage, Retriever, build_retriever, fuse, passages_language
from rag.settings import Settings
from rag.store import SENTENCE, open_store
from tests.conftest import CORPUS, write_corpus

# Each article is longer than one 100-token passage, so passages hold several sentences (facts).
ARTICLES = {
    "gemeinde.txt": (
        "Gemeinderat beschließt Budget\n"
        "Der Gemeinderat von Kleinhausen hat am Dienstag das Budget für das kommende Jahr beschlossen. "
        "Die neue Volksschule soll im Herbst eröffnet werden und bietet Platz für acht Klassen. "
        "Bürgermeister Anton Wimmleitner lobte die gute Zusammenarbeit aller Parteien im Ort. "
        "Für die Sanierung der Ortsdurchfahrt sind 740.000 Euro vorgesehen. "
        "Außerdem bekommt der Fußballplatz eine neue Flutlichtanlage. "
        "Die Gemeindebücherei wird künftig auch am Samstagvormittag geöffnet sein. "
        "Die Kanalgebühren bleiben im kommenden Jahr unverändert. "
        "Ein Antrag der Opposition auf einen zweiten Kreisverkehr wurde abgelehnt. "
        "Die nächste Sitzung des Gemeinderats findet im März statt."
    ),
    "sport.txt": (
        "Heimsieg in letzter Minute\n"
        "Der SV Oberdorf hat am Samstag vor 2.300 Zuschauern gegen den FC Unterberg mit 2:1 gewonnen. "
        "Die Gäste gingen kurz vor der Pause durch einen Elfmeter in Führung. "
        "Nach dem Seitenwechsel drängte Oberdorf auf den Ausgleich, der in der 61. Minute gelang. "
        "Das Siegtor erzielte der eingewechselte Stürmer Bartosz Kowalczyk in der 88. Minute per Kopfball. "
        "Trainer Herbert Lindner sprach nach dem Spiel von einem verdienten Erfolg seiner Mannschaft. "
        "Mit dem Sieg klettert Oberdorf auf den dritten Tabellenplatz der Landesliga. "
        "Am kommenden Wochenende wartet das Auswärtsspiel beim Tabellenführer."
    ),
    "wetter.txt": (
        "Hitzewelle erreicht das Land\n"
        "Die Meteorologen erwarten für die kommende Woche Temperaturen von bis zu 36 Grad. "
        "Besonders heiß wird es im Osten des Landes, wo kaum Regen fällt. "
        "Die Behörden raten älteren Menschen, die Mittagshitze zu meiden und viel Wasser zu trinken. "
        "In mehreren Städten wurden öffentliche Trinkbrunnen aufgestellt. "
        "Die Landwirte fürchten um ihre Ernte, weil die Böden schon jetzt sehr trocken sind. "
        "Erst zum Wochenende soll eine Kaltfront Gewitter und eine leichte Abkühlung bringen."
    ),
    "bahn.txt": (
        "Bahnstrecke wird gesperrt\n"
        "Die Bahnstrecke zwischen Neustadt und Altheim wird im Sommer für sechs Wochen gesperrt. "
        "In dieser Zeit werden Gleise erneuert und zwei Brücken saniert. "
        "Die Fahrgäste müssen auf Ersatzbusse umsteigen, die etwa zwanzig Minuten länger brauchen. "
        "Die Bauarbeiten kosten nach Angaben der Bahn rund elf Millionen Euro. "
        "Nach der Sanierung sollen die Züge auf der Strecke schneller und pünktlicher fahren. "
        "Pendler kritisieren, dass die Sperre mitten in die Ferienzeit fällt."
    ),
}

BUDGET_QUESTION = "Wie viel Geld ist für die Sanierung der Ortsdurchfahrt vorgesehen?"
BUDGET_SENTENCE = "Für die Sanierung der Ortsdurchfahrt sind 740.000 Euro vorgesehen."


def build_index(root: Path, model_dir: Path, articles: dict[str, str] = ARTICLES, **overrides) -> Settings:
    """Settings whose index (under ``root``) holds ``articles``, ingested with the real embedding model."""
    settings = Settings(index_dir=root / "index", model_dir=model_dir, corpus_dir=CORPUS, **overrides)
    report = ingest([write_corpus(root / "news", articles)], settings, show_bar=False)
    assert report.articles == len(articles) and not report.skipped
    return settings


@pytest.fixture(scope="module")
def news_settings(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Settings:
    """An index of ARTICLES with the default settings (sentence vectors and keyword search on)."""
    return build_index(tmp_path_factory.mktemp("news"), model_dir)


@pytest.fixture(scope="module")
def store(news_settings):
    return open_store(news_settings, get_embeddings(news_settings))


def records(store, kind: str | None = None) -> dict[str, dict]:
    """Id -> metadata of the index's passages (``kind=None``) or sentence records."""
    got = store.collection.get(include=["metadatas"])
    return {
        key: meta
        for key, meta in zip(got["ids"], got["metadatas"])
        if (meta.get("kind") == SENTENCE) == (kind == SENTENCE)
    }


def source_of(store, name: str) -> str:
    return next(m["source"] for m in records(store).values() if m["name"] == name)


# --- fuse -------------------------------------------------------------------------------------


def test_fuse_orders_by_summed_reciprocal_ranks():
    # k=1: a = 1/2 + 1/3 = 0.833, c = 1/4 + 1/2 = 0.75, b = 1/3 = 0.333
    assert fuse([["a", "b", "c"], ["c", "a"]], k=1) == ["a", "c", "b"]
    # k=60: a = 1/61 + 1/63 = 0.03227, c = 1/63 + 1/61 = the same -> tie kept in first-seen order;
    # b = 1/62 + 1/62 = 0.03226 is a hair lower than both.
    assert fuse([["a", "b", "c"], ["c", "b", "a"]], k=60) == ["a", "c", "b"]


def test_fuse_ties_keep_the_first_rankings_order():
    # a and c both 1/61, b and d both 1/62: each tie goes to the id the first ranking listed first.
    assert fuse([["a", "b"], ["c", "d"]], k=60) == ["a", "c", "b", "d"]
    assert fuse([["c", "d"], ["a", "b"]], k=60) == ["c", "a", "d", "b"]


def test_fuse_of_one_ranking_is_that_ranking_and_of_none_is_empty():
    assert fuse([["x", "y", "z"]], k=60) == ["x", "y", "z"]
    assert fuse([], k=60) == [] and fuse([[], []], k=60) == []


def test_an_id_in_both_rankings_beats_ids_in_one():
    # b: 1/(1+2) + 1/(1+2) = 0.667 > a: 1/2 = 0.5 = d
    assert fuse([["a", "b"], ["d", "b"]], k=1) == ["b", "a", "d"]


# --- passages_language ---------------------------------------------------------------------------


def passage(text: str, score: float = 0.8) -> Passage:
    return Passage(text=text, source="/x.txt", name="x.txt", title="", start=0, end=len(text), score=score)


def test_passages_language_is_the_majority_language():
    de = passage("Die Soldaten wurden nach Russland geschickt und kämpfen dort.")
    en = passage("The soldiers were sent to Russia and are fighting there.")
    assert passages_language([de]) == "de" and passages_language([en]) == "en"
    assert passages_language([de, en, de]) == "de"
    assert passages_language([en, en, de]) == "en"


def test_passages_language_is_none_when_nothing_is_recognised():
    assert passages_language([]) is None
    assert passages_language([passage("12.000 / 2024"), passage("Kursk")]) is None
    # unrecognised passages do not vote
    assert passages_language([passage("12.000"), passage("Der Hund und die Katze.")]) == "de"


# --- build_retriever and arguments ---------------------------------------------------------------


def test_build_retriever_takes_its_settings():
    store = object()  # the retriever only keeps it until run
    settings = Settings(top_k=3, keyword_search=False, sentence_weight=0.5, fusion_k=10)
    retriever = build_retriever(settings, store)  # type: ignore[arg-type]
    assert retriever.store is store
    assert (retriever.top_k, retriever.keyword, retriever.sentence_weight, retriever.fusion_k) == (3, False, 0.5, 10)
    assert build_retriever(settings, store, top_k=7).top_k == 7  # type: ignore[arg-type]
    default = build_retriever(Settings(), store)  # type: ignore[arg-type]
    assert (default.top_k, default.keyword, default.sentence_weight, default.fusion_k) == (4, True, 1.0, 60)


@pytest.mark.parametrize("kwargs", [dict(top_k=0), dict(top_k=2, fusion_k=0)])
def test_bad_retriever_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        Retriever(object(), **kwargs)  # type: ignore[arg-type]


# --- the Retriever on a real index ---------------------------------------------------------------


def test_the_index_holds_passages_of_several_sentences_and_sentence_records(store):
    passages, sentences = records(store), records(store, SENTENCE)
    assert len(passages) > len(ARTICLES) and sentences  # every article spans more than one passage
    assert any(
        m["end"] - m["start"] > len(BUDGET_SENTENCE) + 50 and m["name"] == "gemeinde.txt" for m in passages.values()
    )
    assert any(m["end"] - m["start"] == len(BUDGET_SENTENCE) for m in sentences.values())


def test_a_passage_of_several_facts_is_found_by_the_sentence_that_answers(store):
    best = Retriever(store, 4).run(BUDGET_QUESTION)[0]
    assert BUDGET_SENTENCE in best.text and best.text != BUDGET_SENTENCE  # the passage, not the sentence
    assert best.name == "gemeinde.txt" and best.text.count(". ") >= 2  # several facts in it


def span(p: Passage) -> tuple[str, int, int]:
    return p.source, p.start, p.end


def test_a_passage_carries_its_sentence_nearest_the_question(store):
    passages = Retriever(store, 4).run(BUDGET_QUESTION)
    best = passages[0]
    assert best.text[best.focus_start - best.start : best.focus_end - best.start] == BUDGET_SENTENCE
    for p in passages:  # each one's focus, when it has one, is a sentence of its own
        if p.focus_start is not None:
            assert p.start <= p.focus_start < p.focus_end <= p.end


def test_sentence_lift_keeps_the_cosine_scores_and_ranks_the_answering_passage_first(store):
    # Dense search alone (no keyword fusion), every passage: the order is the dense ranking itself.
    plain = Retriever(store, 50, keyword=False, sentence_weight=0).search(BUDGET_QUESTION)
    lifted = Retriever(store, 50, keyword=False, sentence_weight=1.0).search(BUDGET_QUESTION)
    # The lift adds a sentence similarity to every passage: found sets and cosine scores are the same.
    assert lifted.dense_scores == plain.dense_scores and lifted.dense_sources == plain.dense_sources
    assert {span(p): p.score for p in lifted.passages} == {span(p): p.score for p in plain.passages}
    assert [span(p) for p in lifted.passages] != [span(p) for p in plain.passages]  # but reorders them
    assert BUDGET_SENTENCE in lifted.passages[0].text


def test_a_rare_name_brings_its_passage_in_with_keyword_search(store):
    question = "Wer hat für Oberdorf das Tor durch Kowalczyk vorbereitet?"
    [(best, _), *_] = keyword_search(store, question, POOL)
    assert "Kowalczyk" in store.collection.get(ids=[best])["documents"][0]  # BM25: the one passage with the name
    assert any("Kowalczyk" in p.text for p in Retriever(store, 4).run(question)[:2])


def test_a_german_number_is_matched_by_keyword_search(store):
    retriever = Retriever(store, 3)
    passages = retriever.run("Wofür sind 740.000 Euro vorgesehen?")
    assert "740.000" in passages[0].text


def test_sources_restrict_dense_and_keyword_results(store):
    sport = source_of(store, "sport.txt")
    retriever = Retriever(store, 10)
    # a German question (so BM25 runs too) about another article: nothing of it may come back
    # (a passage keyword search alone found would be added to the 10: none of another article is)
    passages = retriever.run(BUDGET_QUESTION, sources=[sport])
    assert passages and {p.source for p in passages} == {sport}
    assert {p.source for p in retriever.run("Sanierung Ortsdurchfahrt 740.000", sources=[sport])} == {sport}
    # two sources
    bahn = source_of(store, "bahn.txt")
    assert {p.source for p in retriever.run(BUDGET_QUESTION, sources=[sport, bahn])} <= {sport, bahn}


def test_every_passage_scores_its_cosine_similarity(store):
    retriever = Retriever(store, 50, sentence_weight=1.0)
    question = "Wann erzielte Kowalczyk das Siegtor?"
    query = np.asarray(store.embeddings.embed_query(question))
    got = store.collection.get(include=["embeddings", "metadatas"])
    cosine = {
        (m["source"], m["start"], m["end"]): float(np.dot(query, np.asarray(e)))
        for m, e in zip(got["metadatas"], got["embeddings"])
        if m.get("kind") != SENTENCE
    }
    passages = retriever.run(question)
    assert passages
    for p in passages:
        assert 0 < p.score <= 1
        assert p.score == pytest.approx(cosine[(p.source, p.start, p.end)], abs=1e-3)  # not lifted, not fused


#: More weather reports than the dense search's pool holds (POOL passages), and one recipe unlike them
#: that shares only a rare word with the question: keyword search alone can bring the recipe in.
TOWNS = (
    "Graz Linz Wels Steyr Krems Villach Leoben Dornbirn Bregenz Feldkirch Innsbruck Salzburg Hallein Amstetten "
    "Baden Tulln Wolfsberg Spittal Lienz Kufstein Schwaz Imst Bruck Gmunden Zwettl"
)
WEATHER = {
    f"wetter-{town.lower()}-{day.lower()}.txt": f"Wetter in {town}, {day}\nIn {town} scheint {day} die "
    f"Sonne bei {18 + len(town) % 9} Grad. Abends ziehen Wolken auf."
    for town in TOWNS.split()
    for day in ("Samstag", "Sonntag")
}
RECIPE = {
    "rezept.txt": "Rezept der Woche\nFür den Zwetschkenröster braucht man ein Kilogramm reife Zwetschken, "
    "etwas Zucker und eine Zimtstange. Die Früchte werden entkernt und langsam eingekocht."
}
WEATHER_QUESTION = "Sonnig mit Bewölkung zum Wochenende, Temperaturprognose für Zwetschkenröster"


@pytest.fixture(scope="module")
def weather_store(tmp_path_factory: pytest.TempPathFactory, model_dir: Path):
    settings = build_index(tmp_path_factory.mktemp("weather"), model_dir, {**WEATHER, **RECIPE})
    return open_store(settings, get_embeddings(settings))


def test_a_passage_only_keyword_search_found_gets_its_cosine_too(weather_store):
    assert all(p.name != "rezept.txt" for p in Retriever(weather_store, 4, keyword=False).run(WEATHER_QUESTION))
    found = Retriever(weather_store, 4).search(WEATHER_QUESTION)
    [recipe] = [p for p in found.passages if p.name == "rezept.txt"]
    assert len(found.dense_sources) == POOL and recipe.source not in found.dense_sources  # not found by meaning
    query = np.asarray(weather_store.embeddings.embed_query(WEATHER_QUESTION))
    got = weather_store.collection.get(where={"source": recipe.source}, include=["embeddings", "metadatas"])
    [cosine] = [
        float(np.dot(query, np.asarray(e)))
        for m, e in zip(got["metadatas"], got["embeddings"])
        if m.get("kind") != SENTENCE
    ]
    assert 0 < recipe.score < min(found.dense_scores) and recipe.score == pytest.approx(cosine, abs=1e-3)


def test_sentence_records_never_come_back_as_passages(store):
    passages, sentences = records(store), records(store, SENTENCE)
    chunk_spans = {(m["source"], m["start"], m["end"]) for m in passages.values()}
    sentence_only = {(m["source"], m["start"], m["end"]) for m in sentences.values()} - chunk_spans
    assert sentence_only
    for question in (BUDGET_QUESTION, "Wann erzielte Kowalczyk das Siegtor?", "How hot will it get next week?"):
        got = Retriever(store, 50).run(question)
        spans = [(p.source, p.start, p.end) for p in got]
        # every passage of the index, once each, and no sentence record
        assert len(spans) == len(set(spans)) == len(chunk_spans) and set(spans) == chunk_spans
        assert not set(spans) & sentence_only


def test_an_index_without_sentence_vectors_still_retrieves(tmp_path, model_dir):
    settings = build_index(tmp_path, model_dir, sentence_vectors=False)
    plain = open_store(settings, get_embeddings(settings))
    assert records(plain, SENTENCE) == {} and records(plain)
    retriever = build_retriever(settings, plain)
    assert retriever.sentence_weight == 1.0  # weight without sentences: no lift, no error
    best = retriever.run(BUDGET_QUESTION)
    assert len(best) == 4 and BUDGET_SENTENCE in best[0].text
    assert "Kowalczyk" in retriever.run("Wann erzielte Kowalczyk das Siegtor?")[0].text
    assert all(0 < p.score <= 1 for p in best)
    assert all(p.focus_start is None for p in best)  # no sentence records: no focus


def test_an_english_question_finds_the_german_passage(store):
    # BM25 is skipped for a question in another language than the passages; the dense search finds it.
    best = Retriever(store, 2).run("How much money is planned for repairing the main road through the village?")
    assert best[0].name == "gemeinde.txt"

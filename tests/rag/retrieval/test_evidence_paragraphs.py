"""Paragraph evidence: one article written in every input format, ingested with the real loaders, chunker
and embedding model into one real index, read back paragraph by paragraph.

Each article is a title, a first paragraph, a sub-heading, a second paragraph and a third one; the
64-token passages (two or three sentences) run across the paragraph ends, the evidences must not.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.indexing import ingest
from ingest.loading import load_file
from rag.models.embedding import get_embeddings
from rag.retrieval.evidence import evidence, read_paragraphs
from rag.retrieval.retrieving import Passage, build_retriever
from rag.settings import Settings
from rag.store import PASSAGES_ONLY, open_store
from tests.conftest import CORPUS
from tests.ingest.documents import docx_bytes, pdf_bytes

TITLE = "Neue Brücke für Flussheim"
HEADING = "Kosten und Zeitplan"
P1 = [
    "Der Stadtrat von Flussheim hat am Montag den Bau einer neuen Brücke über die Lauter beschlossen.",
    "Die alte Holzbrücke aus dem Jahr 1952 war im Frühjahr wegen morscher Balken gesperrt worden.",
    "Seither müssen Radfahrer und Fußgänger einen Umweg von fast drei Kilometern nehmen.",
    "Bürgermeisterin Helga Steinbrecher sprach von einem guten Tag für die ganze Stadt.",
]
P2 = [
    "Die neue Brücke wird aus Stahl gebaut und soll im Herbst 2026 fertig sein.",
    "Die Baukosten werden auf 4,2 Millionen Euro geschätzt.",
    "Das Land übernimmt nach Angaben der Stadt zwei Drittel dieser Summe.",
    "Während der Bauzeit richtet die Stadt eine Fähre für Fußgänger ein.",
    "Die Fähre verkehrt werktags zwischen sechs und zwanzig Uhr im Halbstundentakt.",
]
P3 = [
    "Umweltschützer fordern, bei den Arbeiten auf die Brutzeit der Eisvögel Rücksicht zu nehmen.",
    "An der Lauter brüten nach ihrer Zählung derzeit elf Eisvogelpaare.",
    "Die Stadt hat zugesagt, zwischen April und Juni keine Rammarbeiten durchzuführen.",
    "Ein Gutachten zum Artenschutz soll bis Ende des Jahres vorliegen.",
]
#: The reading blocks: a heading line is the first "sentence" of the paragraph after it.
BLOCKS = [[TITLE, *P1], [HEADING, *P2], P3]
COST_QUESTION, COST = "Wie hoch werden die Baukosten der neuen Brücke geschätzt?", P2[1]
BIRDS_QUESTION, BIRDS = "Wie viele Eisvogelpaare brüten an der Lauter?", P3[1]


def _paragraph(sentences: list[str]) -> str:
    return " ".join(sentences)


def _files() -> dict[str, bytes]:
    one, two, three = _paragraph(P1), _paragraph(P2), _paragraph(P3)
    wrapped = [textwrap.fill(p, 60) for p in (one, two, three)]
    # PDF: 80-character layout lines; the third paragraph runs on to page 2.
    pdf_lines = [TITLE, *textwrap.wrap(one, 80), HEADING, *textwrap.wrap(two, 80), *textwrap.wrap(three, 80)]
    page_two = pdf_lines.index(textwrap.wrap(three, 80)[1])
    texts = {
        "lines.txt": "\n".join([TITLE, one, HEADING, two, three]),  # one line per paragraph
        "blank.txt": "\n\n".join([TITLE, one, HEADING, two, three]),
        "wrapped.txt": "\n\n".join([TITLE, wrapped[0], HEADING, wrapped[1], wrapped[2]]),  # hard-wrapped
        "article.md": f"# {TITLE}\n\n{one}\n\n## {HEADING}\n\n{two}\n\n{three}\n",
        "article.html": f"<html><body><article><h1>{TITLE}</h1><p>{one}</p><h2>{HEADING}</h2><p>{two}</p>"
        f"<p>{three}</p></article></body></html>",
        "feed.jsonl": json.dumps({"title": TITLE, "text": "\n".join([TITLE, one, HEADING, two, three])}) + "\n",
    }
    return {
        **{name: text.encode("utf-8") for name, text in texts.items()},
        "article.docx": docx_bytes(
            [("Title", TITLE), ("Normal", one), ("Heading 2", HEADING), ("Normal", two), ("Normal", three)]
        ),
        "article.pdf": pdf_bytes([pdf_lines[:page_two], pdf_lines[page_two:]]),
    }


FORMATS = sorted(_files())


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, model_dir: Path):
    """Every format's article in 64-token passages (sentence vectors on), and where each article is."""
    return build_index(tmp_path_factory.mktemp("paragraphs"), model_dir, FORMATS, chunk_tokens=64)


def build_index(root: Path, model_dir: Path, names: list[str], chunk_tokens: int):
    folder = root / "news"
    folder.mkdir()
    for name, data in _files().items():
        if name in names:
            (folder / name).write_bytes(data)
    settings = Settings(index_dir=root / "index", model_dir=model_dir, corpus_dir=CORPUS, chunk_tokens=chunk_tokens)
    report = ingest([folder], settings, show_bar=False)
    assert report.articles == len(names) and not report.skipped
    texts = {}
    for name in names:
        [article], _ = load_file(folder / name)
        texts[article.source] = article.text
    return settings, open_store(settings, get_embeddings(settings)), texts


def source_of(texts: dict[str, str], name: str) -> str:
    return next(source for source in texts if Path(source.split("#")[0]).name == name)


def flat(text: str) -> str:
    return " ".join(text.split())


def whole_sentences_of_one_block(text: str) -> bool:
    """Whether ``text`` is a run of whole sentences of one paragraph (with its heading)."""
    runs = {_paragraph(block[i:j]) for block in BLOCKS for i in range(len(block)) for j in range(i + 1, len(block) + 1)}
    return flat(text) in runs


def ask(index, question: str, name: str, top_k: int = 4) -> list[Passage]:
    settings, store, texts = index
    return build_retriever(settings, store, top_k=top_k).run(question, sources=[source_of(texts, name)])


@pytest.mark.parametrize("name", FORMATS)
def test_the_evidence_is_the_paragraph_holding_the_best_sentence_and_no_more(index, name):
    _, store, texts = index
    for question, best, block in ((BIRDS_QUESTION, BIRDS, P3), (COST_QUESTION, COST, [HEADING, *P2])):
        passages = ask(index, question, name)
        first = read_paragraphs(store, passages, chars=2000)[0]
        text = texts[first.source]
        assert first.text == text[first.start : first.end]  # the article's own text, in its offsets
        assert first.focus_start is not None and first.focus_end is not None
        assert flat(text[first.focus_start : first.focus_end]) == best  # the whole sentence, even hard-wrapped
        # The whole paragraph (the sub-heading with it), though the budget has room for the next one too.
        assert flat(first.text) == _paragraph(block)


@pytest.mark.parametrize("name", FORMATS)
def test_a_long_paragraph_is_cut_around_the_best_sentence_in_whole_sentences(index, name):
    _, store, texts = index
    budget = len(_paragraph(P2[:3])) + 5  # three sentences, not four, not the heading
    first = read_paragraphs(store, ask(index, COST_QUESTION, name), chars=budget)[0]
    assert len(first.text) <= budget
    assert first.text == texts[first.source][first.start : first.end]
    # Centred: the best sentence with its neighbour on each side (the next one first).
    assert flat(first.text) == _paragraph(P2[:3])
    assert flat(texts[first.source][first.focus_start : first.focus_end]) == COST


@pytest.mark.parametrize("budget", [200, 300, 500, 2000])
def test_evidences_never_overlap_cross_a_paragraph_or_an_article_and_keep_every_best_sentence(index, budget):
    settings, store, texts = index
    passages = build_retriever(settings, store, top_k=20).run(COST_QUESTION)  # passages of several articles
    assert len({p.source for p in passages}) > 1
    evidences = read_paragraphs(store, passages, chars=budget)
    assert len(evidences) < len(passages)
    for e in evidences:
        assert e.text == texts[e.source][e.start : e.end]
        assert len(e.text) <= budget and whole_sentences_of_one_block(e.text)
    for a in evidences:
        for b in evidences:
            if a is not b and a.source == b.source:
                assert a.end <= b.start or b.end <= a.start
    for p in passages:  # each passage's best sentence is read, once
        assert any(e.source == p.source and e.start <= p.focus_start < e.end for e in evidences)


def test_overlapping_evidences_are_merged_when_they_fit_cut_back_or_dropped(index):
    _, store, texts = index
    passage = ask(index, COST_QUESTION, "blank.txt")[0]
    text = texts[passage.source]

    def focused(sentence: str) -> Passage:
        start = text.index(sentence)
        return replace(passage, focus_start=start, focus_end=start + len(sentence))

    # Both fit together: one evidence, the first's focus.
    [merged] = read_paragraphs(store, [focused(P2[1]), focused(P2[3])], chars=2000)
    assert flat(merged.text) == _paragraph([HEADING, *P2]) and merged.focus_start == text.index(P2[1])
    # The same best sentence twice: read once.
    assert len(read_paragraphs(store, [focused(P2[1]), focused(P2[1])], chars=150)) == 1
    # Too long together: the second is cut back to beside the first, its best sentence kept.
    for budget in range(130, 400, 10):
        first, *rest = read_paragraphs(store, [focused(P2[1]), focused(P2[4])], chars=budget)
        assert P2[1] in first.text
        if P2[4] not in first.text:
            [second] = rest
            assert P2[4] in second.text and (second.start >= first.end or second.end <= first.start)
            assert whole_sentences_of_one_block(second.text)


def test_without_a_best_sentence_the_evidence_grows_from_the_passage_in_its_paragraph(index):
    _, store, texts = index
    passage = replace(ask(index, BIRDS_QUESTION, "lines.txt")[0], focus_start=None, focus_end=None)
    [piece] = read_paragraphs(store, [passage], chars=250)
    assert piece.focus_start is None and len(piece.text) <= 250
    assert whole_sentences_of_one_block(piece.text)
    assert piece.start < passage.end and passage.start < piece.end


def test_a_best_sentence_longer_than_the_budget_keeps_the_passage(index):
    _, store, _ = index
    passages = ask(index, COST_QUESTION, "blank.txt")
    assert read_paragraphs(store, passages[:1], chars=30) == passages[:1]


def test_the_setting_chooses_what_the_model_reads(index):
    settings, store, _ = index
    passages = ask(index, COST_QUESTION, "article.docx")
    assert settings.evidence == "paragraphs"  # the default
    assert evidence(settings, store, passages) == read_paragraphs(store, passages, settings.evidence_chars)
    paragraphs = settings.model_copy(update={"evidence_chars": 300})
    assert evidence(paragraphs, store, passages) == read_paragraphs(store, passages, 300)
    as_retrieved = settings.model_copy(update={"evidence": "passages"})
    assert evidence(as_retrieved, store, passages) == passages


def test_between_passages_that_do_not_overlap_the_paragraphs_are_guessed_never_read_across(tmp_path, model_dir):
    # 40-token passages: some hold one sentence and share none with the next, so the whitespace between
    # them is stored nowhere.
    index = build_index(tmp_path, model_dir, ["blank.txt", "lines.txt"], chunk_tokens=40)
    _, store, texts = index
    got = store.collection.get(where=PASSAGES_ONLY, include=["metadatas"])
    for source in texts:
        spans = sorted((m["start"], m["end"]) for m in got["metadatas"] if m["source"] == source)
        assert any(following > end for (_, end), (following, _) in zip(spans, spans[1:]))
    # Paragraphs separated by blank lines: a missing character was a space, and the paragraph is whole.
    first = read_paragraphs(store, ask(index, COST_QUESTION, "blank.txt"), chars=2000)[0]
    assert first.text == texts[first.source][first.start : first.end]
    assert flat(first.text) == _paragraph([HEADING, *P2])
    # One paragraph a line: a missing character may have been a line break, so the evidence ends there.
    first = read_paragraphs(store, ask(index, COST_QUESTION, "lines.txt"), chars=2000)[0]
    assert flat(texts[first.source][first.focus_start : first.focus_end]) == COST
    assert whole_sentences_of_one_block(first.text)


@pytest.mark.parametrize("name", ["lawinen.docx", "lawinen.txt"])
def test_paragraphs_shorter_than_their_passage_are_widened_to_it(tmp_path, model_dir, name):
    # One sentence a paragraph (DOCX paragraphs, many news sites): the paragraph holding the best sentence
    # is shorter than the passage retrieval found, and the sentence that answers is in the next one.
    lines = [
        "Lawinen in Vorarlberg",
        "Im Montafon herrscht seit Freitag Lawinenwarnstufe vier.",
        "Am Wochenende gingen drei Lawinen ab, zwei Skifahrer wurden verschüttet.",
        "Die Bergrettung war mit 40 Helfern im Einsatz.",
    ]
    folder = tmp_path / "news"
    folder.mkdir()
    data = docx_bytes([("Title", lines[0]), *(("Normal", line) for line in lines[1:])])
    (folder / name).write_bytes(data if name.endswith(".docx") else "\n".join(lines).encode())
    settings = Settings(index_dir=tmp_path / "index", model_dir=model_dir, corpus_dir=CORPUS)
    ingest([folder], settings, show_bar=False)
    store = open_store(settings, get_embeddings(settings))
    [passage] = build_retriever(settings, store, top_k=1).run("Wie viele Lawinen gingen im Montafon ab?")
    assert passage.end - passage.start > len(lines[1])  # the whole short article is one passage
    [first] = read_paragraphs(store, [replace(passage, focus_start=22, focus_end=22 + len(lines[1]))], chars=900)
    assert first.start <= passage.start and passage.end <= first.end
    assert "drei Lawinen" in first.text
    # A budget the passage does not fit: the paragraph alone, never more than the budget.
    [short] = read_paragraphs(store, [replace(passage, focus_start=22, focus_end=22 + len(lines[1]))], chars=80)
    assert len(short.text) <= 80 and "Lawinenwarnstufe" in short.text and "drei Lawinen" not in short.text

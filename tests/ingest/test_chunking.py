"""Tests for ingest.chunking: sentence spans, chunk packing, offsets and LangChain documents."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from ingest.chunking import Chunk, chunk_article, chunk_text, sentence_documents, split_sentences
from ingest.loading import Article, discover, load_file
from rag.settings import Settings

REPO = Path(__file__).resolve().parents[2]
GNAD = Path("/work/shared/data/news-10kgnad")


def words(text: str) -> int:
    return len(text.split())


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def corpus_articles() -> list[Article]:
    files, _ = discover([REPO / "corpus"])
    articles = [a for f in files for a in load_file(f)[0]]
    assert articles, "the shipped corpus should contain at least one article"
    return articles


def gnad_sample(count: int = 50) -> list[Article]:
    if not GNAD.is_dir():
        pytest.skip(f"{GNAD} not available")
    files = sorted(GNAD.glob("*.txt"))
    chosen = random.Random(42).sample(files, min(count, len(files)))
    return [load_file(f)[0][0] for f in chosen]


# --- sentences ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Westliche Geheimdienste sprechen von 10.000 bis 12.000 Soldaten.",
        "Der Preis stieg um 3.5 Prozent auf 12,50 Euro.",
        "Das gilt z. B. für Äpfel und d. h. auch für Birnen.",
        "Das gilt z.B. für Äpfel, u.a. auch für Birnen.",
        "Er kam am 3. Oktober nach Wien.",
        "Das Treffen ist am 1. Jänner im 20. Jahrhundert gewesen.",
        "In der 58. Minute fiel das Tor.",
        "Die Wahl findet Sonntag 3. Oktober statt.",
        "Dr. Müller und Prof. Huber trafen St. Pölten bzw. Nr. 5 ca. um 8 Uhr.",
        "Es gab Äpfel, Birnen usw. Dann auch Nüsse etc. Und mehr.",
        "Mr. Smith went to Washington, e.g. to vote, i.e. to help.",
        "J. R. R. Tolkien schrieb den Hobbit.",
        '"Wohin?" fragte er leise.',
        "„Wir haben … gewonnen“, sagte er.",
        "„Wir haben es versucht … Aber es ging nicht“, sagte er.",
        "Er zitierte: „Die Regierung […] Das Volk entscheidet“, sagte er.",
        "Siehe Art. 5 Abs. 3 des Gesetzes.",
        "(APA, 30. 9. 2015)",
    ],
)
def test_not_a_sentence_end(sentence: str) -> None:
    assert sentences(sentence) == [sentence]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Er kam. Sie ging.", ["Er kam.", "Sie ging."]),
        ('Er sagte: "Wir kommen." Dann ging er.', ['Er sagte: "Wir kommen."', "Dann ging er."]),
        (
            "Wer kommt? Niemand! Warum (wirklich)? Egal.",
            ["Wer kommt?", "Niemand!", "Warum (wirklich)?", "Egal."],
        ),
        ("Das war schön (sagte er!) Und dann?", ["Das war schön (sagte er!)", "Und dann?"]),
        ("Er kam 2010. 2011 ging er.", ["Er kam 2010.", "2011 ging er."]),
        ("Er kam auf Platz 92. Der Rest folgte.", ["Er kam auf Platz 92.", "Der Rest folgte."]),
        ("Sie sagte „Nein.“ Er nickte.", ["Sie sagte „Nein.“", "Er nickte."]),
        ("Das kostet 12.000. Viel Geld.", ["Das kostet 12.000.", "Viel Geld."]),
    ],
)
def test_sentence_ends(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_newlines_always_end_sentences_and_spans_exclude_whitespace() -> None:
    text = "  Bis zu 12.000 Soldaten  \n\nErster Satz ohne Punkt\n   Zweiter Satz. Dritter.  \n"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Bis zu 12.000 Soldaten",
        "Erster Satz ohne Punkt",
        "Zweiter Satz.",
        "Dritter.",
    ]
    assert all(not text[s].isspace() and not text[e - 1].isspace() for s, e in spans)


def test_shipped_article_sentences() -> None:
    article = load_file(REPO / "corpus" / "nordkorea-soldaten-russland.txt")[0][0]
    found = sentences(article.text)
    assert (
        "Westliche Geheimdienste sprechen von 10.000 bis 12.000 Soldaten, die im vergangenen "
        "Herbst nach Russland geschickt wurden, um in Kursk zu kämpfen." in found
    )
    assert "Bis zu 12.000 nordkoreanische Soldaten in Russland" in found
    assert "USA sind alarmiert" in found


def test_empty_and_blank_text_have_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n\t ") == []


# --- chunk_text ---------------------------------------------------------------------------


def assert_valid(text: str, chunks: list[Chunk], max_tokens: int) -> None:
    assert chunks, "non-empty text must give at least one chunk"
    for index, chunk in enumerate(chunks):
        assert chunk.index == index
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip() == chunk.text and chunk.text
        assert words(chunk.text) <= max_tokens
    # Nothing is lost: every word of the text is in some chunk.
    covered = [False] * len(text)
    for chunk in chunks:
        covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
    assert all(covered[i] or text[i].isspace() for i in range(len(text)))


@pytest.mark.parametrize("max_tokens", [16, 60, 200])
def test_offsets_and_limits_on_shipped_corpus(max_tokens: int) -> None:
    for article in corpus_articles():
        assert_valid(article.text, chunk_text(article.text, words, max_tokens, 1), max_tokens)


@pytest.mark.parametrize("max_tokens", [16, 200])
def test_offsets_and_limits_on_10kgnad_sample(max_tokens: int) -> None:
    for article in gnad_sample():
        assert_valid(article.text, chunk_text(article.text, words, max_tokens, 1), max_tokens)


def test_whole_sentences_are_packed_greedily() -> None:
    text = "Eins zwei drei. Vier fünf sechs. Sieben acht neun. Zehn elf zwölf."
    chunks = chunk_text(text, words, max_tokens=7, overlap_sentences=0)
    assert [c.text for c in chunks] == [
        "Eins zwei drei. Vier fünf sechs.",
        "Sieben acht neun. Zehn elf zwölf.",
    ]


def test_neighbours_share_overlap_sentences() -> None:
    text = " ".join(f"Satz {n} hat vier Wörter." for n in range(1, 11))
    one = chunk_text(text, words, max_tokens=15, overlap_sentences=1)
    assert [c.text for c in one[:2]] == [
        "Satz 1 hat vier Wörter. Satz 2 hat vier Wörter. Satz 3 hat vier Wörter.",
        "Satz 3 hat vier Wörter. Satz 4 hat vier Wörter. Satz 5 hat vier Wörter.",
    ]
    for before, after in zip(one, one[1:], strict=False):
        assert sentences(before.text)[-1] == sentences(after.text)[0]
    two = chunk_text(text, words, max_tokens=15, overlap_sentences=2)
    for before, after in zip(two, two[1:], strict=False):
        assert sentences(before.text)[-2:] == sentences(after.text)[:2]
    none = chunk_text(text, words, max_tokens=15, overlap_sentences=0)
    assert all(a.end < b.start for a, b in zip(none, none[1:], strict=False))
    assert len(none) < len(one) < len(two)


def test_sub_heading_stays_with_the_following_sentence() -> None:
    text = (
        "Erster Satz hat fünf Wörter.\nZweiter Satz hat auch fünf.\nUSA sind alarmiert\nDie Sprecherin äußerte Sorge."
    )
    chunks = chunk_text(text, words, max_tokens=13, overlap_sentences=0)
    assert [c.text for c in chunks] == [
        "Erster Satz hat fünf Wörter.\nZweiter Satz hat auch fünf.",
        "USA sind alarmiert\nDie Sprecherin äußerte Sorge.",
    ]


def test_no_chunk_of_the_shipped_article_ends_with_a_sub_heading() -> None:
    article = load_file(REPO / "corpus" / "nordkorea-soldaten-russland.txt")[0][0]
    headings = {
        "Auch Russland bestätigt Einsatz",
        "Bis zu 12.000 nordkoreanische Soldaten in Russland",
        "USA sind alarmiert",
    }
    for max_tokens in range(20, 120, 7):
        for chunk in chunk_text(article.text, words, max_tokens, 1)[:-1]:
            assert chunk.text.rsplit("\n", 1)[-1] not in headings, (max_tokens, chunk.text)


def test_long_sentence_is_split_at_word_boundaries() -> None:
    text = "Kurz. " + " ".join(f"wort{n}" for n in range(95)) + ". Ende."
    chunks = chunk_text(text, words, max_tokens=20, overlap_sentences=1)
    assert_valid(text, chunks, 20)
    for chunk in chunks:
        assert chunk.start == 0 or text[chunk.start - 1] == " "
        assert chunk.end == len(text) or text[chunk.end] == " "


def test_two_megabyte_single_line_chunks_within_bounds_quickly() -> None:
    rng = random.Random(0)
    vocabulary = "Regierung Wien beschloss am Montag neue Maßnahmen gegen Inflation".split()
    line = " ".join(rng.choice(vocabulary) for _ in range(300_000))[:2_000_000]
    started = time.perf_counter()
    chunks = chunk_text(line, words, max_tokens=200, overlap_sentences=1)
    elapsed = time.perf_counter() - started
    assert_valid(line, chunks, 200)
    assert sum(words(c.text) for c in chunks) >= words(line)
    assert elapsed < 10, f"chunking 2 MB took {elapsed:.1f} s"


def test_line_without_spaces_is_split_by_characters() -> None:
    line = "x" * 100_000

    def four_chars_per_token(text: str) -> int:
        return -(-len(text) // 4)

    chunks = chunk_text(line, four_chars_per_token, max_tokens=50, overlap_sentences=1)
    assert all(four_chars_per_token(c.text) <= 50 for c in chunks)
    assert sum(len(c.text) for c in chunks) == len(line)
    assert all(line[c.start : c.end] == c.text for c in chunks)


def test_special_token_overhead_is_not_counted_per_sentence() -> None:
    def with_cls_sep(text: str) -> int:
        return len(text.split()) + 2

    text = " ".join(f"Satz {n} hat vier Wörter." for n in range(1, 11))
    # Three sentences are 15 words + 2 = 17 tokens; summing per-sentence counts would say 21.
    chunks = chunk_text(text, with_cls_sep, max_tokens=17, overlap_sentences=0)
    assert all(with_cls_sep(c.text) <= 17 for c in chunks)
    assert [len(sentences(c.text)) for c in chunks] == [3, 3, 3, 1]


def test_final_count_catches_low_estimates() -> None:
    # Joining sentences costs extra tokens here (each line break counts 3), so the per-sentence
    # sum is too low; the chunk must still respect the limit.
    def newline_heavy(text: str) -> int:
        return len(text.split()) + 3 * text.count("\n")

    text = "\n".join(f"Zeile {n} hat vier." for n in range(20))
    chunks = chunk_text(text, newline_heavy, max_tokens=12, overlap_sentences=1)
    assert all(newline_heavy(c.text) <= 12 for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_empty_text_gives_no_chunks_and_bad_arguments_raise() -> None:
    assert chunk_text("", words, 10) == []
    assert chunk_text("  \n ", words, 10) == []
    with pytest.raises(ValueError, match="max_tokens must be at least 1"):
        chunk_text("Satz.", words, 0)
    with pytest.raises(ValueError, match="overlap_sentences must be 0 or more"):
        chunk_text("Satz.", words, 10, overlap_sentences=-1)


def test_unsplittable_character_raises_a_clear_error() -> None:
    with pytest.raises(ValueError, match="single character"):
        chunk_text("abc def", lambda s: 100 * len(s), max_tokens=50)


# --- chunk_article ------------------------------------------------------------------------


def test_chunk_article_documents_and_metadata() -> None:
    article = Article(
        source="/data/feed.jsonl#3",
        title="Schnee in Tirol",
        text="Schnee in Tirol\nEs schneit seit drei Tagen ohne Pause. Die Straßen sind gesperrt. "
        "Der Verkehr steht seit gestern still. Die Lawinengefahr bleibt hoch.",
        url="https://example.org/schnee",
    )
    docs = chunk_article(article, words, Settings(chunk_tokens=16, chunk_overlap_sentences=1))
    assert len(docs) >= 2
    for number, doc in enumerate(docs):
        meta = doc.metadata
        assert article.text[meta["start"] : meta["end"]] == doc.page_content
        assert meta["chunk"] == number
        assert meta["source"] == "/data/feed.jsonl#3" and meta["name"] == "feed.jsonl#3"
        assert meta["title"] == "Schnee in Tirol" and meta["url"] == "https://example.org/schnee"
        assert "date" not in meta
        assert all(isinstance(v, (str, int, float, bool)) for v in meta.values())
        assert words(doc.page_content) <= 16


def test_pdf_chunks_carry_the_pages_they_span_and_sentence_records_do_not() -> None:
    pages = [
        "Schnee in Tirol\nEs schneit seit drei Tagen ohne Pause. Die Straßen",
        "sind gesperrt.",
        "Die Lage bleibt ernst.",
    ]
    starts, text = [], ""
    for page in pages:
        starts.append(len(text) + (1 if text else 0))
        text = f"{text} {page}" if text else page
    article = Article(source="/a.pdf", title="Schnee", text=text, part_starts=tuple(starts), part_kind="page")
    docs = chunk_article(article, words, Settings(chunk_tokens=16, chunk_overlap_sentences=0))
    spans = [(d.page_content, d.metadata["page"], d.metadata["page_end"]) for d in docs]
    assert spans == [
        ("Schnee in Tirol\nEs schneit seit drei Tagen ohne Pause. Die Straßen sind gesperrt.", 1, 2),
        ("Die Lage bleibt ernst.", 3, 3),
    ]
    sentences = sentence_documents(article, docs)
    assert sentences and not any("page" in s.metadata or "page_end" in s.metadata for s in sentences)


def test_chunk_article_uses_settings_chunk_tokens() -> None:
    article = corpus_articles()[0]
    small = chunk_article(article, words, Settings(chunk_tokens=16, chunk_overlap_sentences=0))
    large = chunk_article(article, words, Settings(chunk_tokens=400, chunk_overlap_sentences=0))
    assert len(large) == 1 < len(small)
    assert set(large[0].metadata) == {"source", "name", "title", "start", "end", "chunk"}


# --- sentence records ------------------------------------------------------------------------------


def sentence_article() -> Article:
    return Article(
        source="/data/feed.jsonl#7",
        title="Lawinengefahr in Tirol",
        text="Lawinengefahr in Tirol\nEs schneit seit drei Tagen ohne Pause. Ja. Die Straßen sind gesperrt. "
        + "Lang " * 250  # one "sentence" of 1250 characters: over MAX_SENTENCE_CHARS
        + "\nDer Verkehr steht seit gestern still. Vorbei!",
        url="https://example.org/lawine",
        date="2024-01-05",
    )


def test_sentence_documents_are_the_articles_sentences_with_the_passages_metadata() -> None:
    from ingest.chunking import sentence_documents
    from rag.text.sentences import MAX_SENTENCE_CHARS, MIN_SENTENCE_WORDS

    article = sentence_article()
    passages = chunk_article(article, words, Settings(chunk_tokens=16, chunk_overlap_sentences=1))
    docs = sentence_documents(article, passages)
    assert docs
    kept = [(d.metadata["start"], d.metadata["end"]) for d in docs]
    expected = [
        (s, e)
        for s, e in split_sentences(article.text)
        if len(article.text[s:e].split()) >= MIN_SENTENCE_WORDS and e - s <= MAX_SENTENCE_CHARS
    ]
    assert kept == expected
    texts = [d.page_content for d in docs]
    assert "Lawinengefahr in Tirol" in texts  # the heading line is a sentence of three words
    assert "Es schneit seit drei Tagen ohne Pause." in texts and "Der Verkehr steht seit gestern still." in texts
    assert "Ja." not in texts and "Vorbei!" not in texts  # one word says nothing
    assert not any(t.startswith("Lang Lang") for t in texts)  # the 1250-character run-on line
    for doc in docs:
        meta = doc.metadata
        assert meta["kind"] == "sentence"
        assert doc.page_content == article.text[meta["start"] : meta["end"]]
        assert meta["source"] == "/data/feed.jsonl#7" and meta["name"] == "feed.jsonl#7"
        assert meta["title"] == "Lawinengefahr in Tirol"
        assert meta["url"] == "https://example.org/lawine" and meta["date"] == "2024-01-05"
        assert "chunk" not in meta  # a sentence is not a passage
        assert all(isinstance(v, (str, int, float, bool)) for v in meta.values())
    # the passages themselves are untouched
    assert all("kind" not in p.metadata for p in passages)


def test_a_sentence_that_is_a_whole_passage_is_kept_too() -> None:
    from ingest.chunking import sentence_documents

    article = Article(source="/a.txt", title="Kurz", text="Der Gemeinderat hat das Budget beschlossen.")
    passages = chunk_article(article, words, Settings())
    assert len(passages) == 1
    docs = sentence_documents(article, passages)
    assert [d.page_content for d in docs] == [passages[0].page_content]
    assert set(docs[0].metadata) == {"source", "name", "title", "start", "end", "kind"}


def test_an_article_without_passages_has_no_sentence_records() -> None:
    from ingest.chunking import sentence_documents

    assert sentence_documents(Article(source="/a.txt", title="", text="Es schneit seit drei Tagen."), []) == []


def test_the_shipped_articles_sentence_records_cover_every_sentence_of_two_words_or_more() -> None:
    from ingest.chunking import sentence_documents

    article = corpus_articles()[0]
    docs = sentence_documents(article, chunk_article(article, words, Settings()))
    long_enough = [(s, e) for s, e in split_sentences(article.text) if len(article.text[s:e].split()) >= 2]
    assert [(d.metadata["start"], d.metadata["end"]) for d in docs] == long_enough


# --- the ingest report -----------------------------------------------------------------------------


def test_report_records_count_passages_and_sentences_and_the_summary_says_so() -> None:
    from ingest.loading import Skipped
    from ingest.report import IngestReport

    report = IngestReport(files=2, articles=3, chunks=20, sentences=45, added=65, seconds=1.25)
    assert report.records == 65 and report.exit_code == 0
    summary = report.summary()
    assert "20 chunks (+45 sentences), 65 added, 0 unchanged, 0 deleted" in summary
    assert summary.startswith("Ingested 3 article(s) from 2 file(s) in 1.2 s") and summary.endswith("no files skipped.")

    without = IngestReport(files=1, articles=1, chunks=5, added=5)
    assert without.records == 5 and "sentences" not in without.summary() and "5 chunks, 5 added" in without.summary()

    skipped = IngestReport(
        chunks=1, sentences=2, skipped=[Skipped("a.txt", "empty"), Skipped("a.txt", "x"), Skipped("b.txt", "y")]
    )
    assert skipped.records == 3 and skipped.exit_code == 3 and "2 file(s) skipped" in skipped.summary()

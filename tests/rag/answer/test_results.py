"""What answering hands back: citations and leads taken from passages, and the public JSON."""

from __future__ import annotations

from rag.answer.results import Answer, Citation, Lead
from rag.retrieval.retrieving import Passage

PAGES = Passage("Rund 4.000 Soldaten.", "/docs/bericht.pdf", "bericht.pdf", "", 10, 30, 0.87654, page=3, page_end=4)


def test_a_citation_keeps_where_the_passage_is_and_a_rounded_score():
    cited = Citation.of(2, PAGES)
    assert (cited.n, cited.source, cited.path, cited.text) == (2, "bericht.pdf", "/docs/bericht.pdf", PAGES.text)
    assert (cited.start, cited.end, cited.score, cited.page, cited.place) == (10, 30, 0.8765, 3, "pp. 3–4")


def test_a_lead_without_a_title_is_named_by_its_file():
    assert Lead.of(PAGES) == Lead(title="bericht.pdf", source="bericht.pdf", path="/docs/bericht.pdf")


def test_the_json_keeps_its_keys_and_rounds_timings():
    answer = Answer("Wie viele?", "Rund 4.000 [1]", False, [Citation.of(1, PAGES)], [], {"total": 12.345}, "de")
    shown = answer.to_json()
    assert list(shown) == [
        "question",
        "answer",
        "refused",
        "citations",
        "unsupported_numbers",
        "timings_ms",
        "language",
        "quick_answer",
        "quote",
        "support",
        "lead",
        "gate",
        "evidences_read",
    ]
    assert shown["timings_ms"] == {"total": 12.3} and shown["citations"][0]["place"] == "pp. 3–4"
    assert shown["gate"] is None and shown["lead"] is None

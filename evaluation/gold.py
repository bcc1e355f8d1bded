"""The gold side of an evaluation: where a question's paragraph and answer sit in its article.

Usage::

    spans = GoldSpans(Path("xquad/corpus"))
    spans.is_hit(passage, item)        # a retrieval hit: the gold article, and the answer or paragraph
    spans.is_read_hit(window, item)    # what the model reads holds the answer
    holds_gold(passage.text, item)     # the text states one of the gold answers
    GoldRetriever(retriever, spans)    # hands the answerer the gold paragraph (``--context gold``)

A retrieved passage is a hit when it is from the gold article and holds the answer as the article
writes it (:attr:`evaluation.dataset.QAItem.article_answer`) or lies at least half in the gold paragraph.
"""

from __future__ import annotations

from pathlib import Path

from evaluation.dataset import QAItem
from ingest.loading import load_file
from rag.retrieval.retrieving import Passage, Retrieval, Retriever


class GoldSpans:
    """Where each question's gold paragraph and answer sit in its article, in the loader's offsets."""

    def __init__(self, corpus: Path) -> None:
        self.corpus = corpus
        self._articles: dict[str, tuple[str, str]] = {}  # doc_file -> (title, text), loaded once

    def _article(self, doc_file: str) -> tuple[str, str]:
        if doc_file not in self._articles:
            articles, _ = load_file(self.corpus / doc_file)
            self._articles[doc_file] = (articles[0].title, articles[0].text) if articles else ("", "")
        return self._articles[doc_file]

    def _text(self, doc_file: str) -> str:
        return self._article(doc_file)[1]

    def paragraph(self, item: QAItem) -> tuple[int, int] | None:
        start = self._text(item.doc_file).find(item.context)
        return (start, start + len(item.context)) if start >= 0 else None

    def is_hit(self, passage: Passage, item: QAItem) -> bool:
        """The passage is from the gold article and holds the gold answer as the article writes it, or
        lies half in the gold paragraph (the definition of a retrieval hit in issue 3)."""
        if Path(passage.source).name != item.doc_file:
            return False
        if item.article_answer in passage.text:
            return True
        span = self.paragraph(item)
        if span is None:  # the paragraph is not verbatim in the article as loaded: compare texts
            return " ".join(passage.text.split()) in " ".join(item.context.split())
        return overlap(passage, span) * 2 >= max(1, passage.end - passage.start)

    def is_read_hit(self, passage: Passage, item: QAItem) -> bool:
        """What the model reads holds the answer: a passage or window of the gold article with the gold
        answer as the article writes it, or covering half the gold paragraph (or being half in it)."""
        if self.is_hit(passage, item):
            return True
        span = self.paragraph(item)
        if span is None or Path(passage.source).name != item.doc_file:
            return False
        return overlap(passage, span) * 2 >= span[1] - span[0]

    def gold_passage(self, item: QAItem) -> Passage:
        """The gold paragraph as a passage, for measuring the answer step without retrieval."""
        title = self._article(item.doc_file)[0]
        start, end = self.paragraph(item) or (0, len(item.context))
        path = str((self.corpus / item.doc_file).resolve())
        return Passage(item.context, path, item.doc_file, title, start, end, 1.0)


def overlap(passage: Passage, span: tuple[int, int]) -> int:
    """Characters of ``passage`` inside ``span`` (article offsets); negative when they are apart.

    Usage: ``overlap(passage, (120, 480)) * 2 >= passage.end - passage.start  # half inside``
    """
    return min(passage.end, span[1]) - max(passage.start, span[0])


def holds_gold(text: str, item: QAItem) -> bool:
    """Whether a passage's text states one of the gold answers, in any of the question's languages.

    Usage: ``holds_gold(quick.text, item)``
    """
    flat = " ".join(text.split()).casefold()
    return any(" ".join(g.split()).casefold() in flat for g in item.all_golds if g.strip())


class GoldRetriever(Retriever):
    """Hands the answerer the gold paragraph of the question being asked (``--context gold``)."""

    def __init__(self, inner: Retriever, spans: GoldSpans) -> None:
        super().__init__(inner.store, 1)
        self.spans = spans
        self.current: QAItem | None = None

    def search(self, question: str, sources: list[str] | None = None) -> Retrieval:
        assert self.current is not None
        gold = self.spans.gold_passage(self.current)
        # The gold paragraph is the answer's passage by definition: the gate must let it through.
        return Retrieval([gold], [gold.score], [gold.source], gold.score, "", None)

"""What answering hands back: the events of :meth:`Answerer.stream <rag.answer.answering.Answerer.stream>`
(:class:`Waiting`, :class:`Reading`, :class:`Token`, the checked :class:`Answer`), the parts of an answer (:class:`Citation`,
:class:`Lead`) and :class:`QuestionError`.

Usage::

    for event in answerer.stream("Wie viele Soldaten?"):
        if isinstance(event, Answer):
            event.answer, event.citations[0].text, event.to_json()
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rag.answer.gating import Decision
from rag.answer.quick import QuickAnswer
from rag.retrieval.retrieving import Passage


class QuestionError(ValueError):
    """A question newsqa will not send to the model; the message is for the user."""


@dataclass(frozen=True)
class Citation:
    """A passage cited in the answer, numbered as in the answer's ``[n]``."""

    n: int
    source: str  # the article's file name (``feed.jsonl#3`` for a line of a .jsonl file)
    title: str
    text: str
    start: int  # character offsets of ``text`` in the article
    end: int
    path: str  # the article's full path: its identity in the index
    score: float
    url: str | None = None
    date: str | None = None
    page: int | None = None  # the PDF page the passage starts on
    paragraph: int | None = None  # the DOCX paragraph the passage starts in
    place: str = ""  # the pages or paragraphs it spans, for people: "pp. 3–4", "¶ 12"

    @classmethod
    def of(cls, n: int, passage: Passage) -> Citation:
        """Passage ``n`` of those the model read, as cited. Usage: ``Citation.of(2, passages[1])``"""
        return cls(
            n=n,
            source=passage.name,
            title=passage.title,
            text=passage.text,
            start=passage.start,
            end=passage.end,
            path=passage.source,
            score=round(passage.score, 4),
            url=passage.url,
            date=passage.date,
            page=passage.page,
            paragraph=passage.paragraph,
            place=passage.place,
        )


@dataclass(frozen=True)
class Lead:
    """The article closest to a question the articles do not answer: somewhere to read on."""

    title: str
    source: str  # the file name
    path: str
    url: str | None = None

    @classmethod
    def of(cls, passage: Passage) -> Lead:
        """The article ``passage`` is from. Usage: ``Lead.of(passages[0])``"""
        return cls(title=passage.title or passage.name, source=passage.name, path=passage.source, url=passage.url)


@dataclass(frozen=True)
class Waiting:
    """The answer waits for the model, busy with ``ahead`` answers to other questions first."""

    ahead: int


@dataclass(frozen=True)
class Reading:
    """The model reads evidence ``n`` (1-based, best first) of ``of``, from the article ``title`` (file ``source``)."""

    n: int
    of: int
    title: str
    source: str


@dataclass(frozen=True)
class Token:
    """A piece of the answer as the model streams it (before checking)."""

    text: str


@dataclass
class Answer:
    """The checked answer, as shown in the chat and printed by ``newsqa ask --json``."""

    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    unsupported_numbers: list[str]
    timings_ms: dict[str, float]
    language: str
    passages: list[Passage] = field(default_factory=list)
    # The sentence shown before the LLM answered (None when retrieval found nothing relevant).
    quick_answer: QuickAnswer | None = None
    # The answer as the cited passage writes it (before translation); empty for a refusal.
    quote: str = ""
    # The sentence the answer rests on (in its first cited passage): what the chat quotes once the
    # answer is there, in place of the instant answer's guess. None for a refusal.
    support: QuickAnswer | None = None
    # For a refusal: the article closest to the question, named as a lead to open, never as an answer.
    lead: Lead | None = None
    # Evidences the model read before it answered (the cascade), or 1 when it read them all at once; 0: none.
    evidences_read: int = 0
    # The answerability gate's verdict and the signals it weighed (None when no search ran).
    decision: Decision | None = None

    def to_json(self) -> dict[str, Any]:
        """The public JSON object; later versions add keys but never rename these."""
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [asdict(c) for c in self.citations],
            "unsupported_numbers": self.unsupported_numbers,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "language": self.language,
            "quick_answer": asdict(self.quick_answer) if self.quick_answer else None,
            "quote": self.quote,
            "support": asdict(self.support) if self.support else None,
            "lead": asdict(self.lead) if self.lead else None,
            "gate": {"answerable": self.decision.answerable, "logit": round(self.decision.logit, 3)}
            | self.decision.signals.to_json()
            if self.decision
            else None,
            "evidences_read": self.evidences_read,
        }

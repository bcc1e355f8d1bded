"""The chat's event handlers: a question answered and streamed, the Articles list paged, uploads ingested.

Usage::

    handlers = ChatHandlers(settings, answerer)     # the app's event handlers, without a page
    *_, (message, panel, kept) = handlers.chat("Wie viele Soldaten?", [], None, [])
    rows, choices, caption, offset = handlers.refresh("graz", 0, [])
    for message, sources in respond(answerer, "how many soldiers?"): ...

A follow-up question is rewritten with the chat history (:mod:`rag.answer.condensing`) and the
question actually searched is shown small under the answer. :func:`ui.chat.build_app` wires these
handlers to the page; the HTML they return is built in :mod:`ui.rendering`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.answer.answering import Answerer, clean_question
from rag.answer.condensing import Condenser, Turn, own_context
from rag.answer.quick import QuickAnswer
from rag.answer.results import Answer, QuestionError, Reading, Token, Waiting
from rag.models.gguf import ModelSetupError
from rag.retrieval.catalog import ArticleInfo, articles_of, count_articles, list_articles
from rag.settings import Settings
from rag.store import StoreError
from rag.text.language import detect_language, message
from rag.text.sentences import short_title
from ui.articles import ARTICLES_PAGE, article_choices, article_rows, ingest_uploads, page_caption
from ui.rendering import (
    Sources,
    answer_sources,
    esc,
    final_html,
    message_html,
    plain_answer,
    quick_html,
    sources_panel,
)

log = logging.getLogger(__name__)

#: Answers whose sources stay in the panel (older ones drop out; their links then do nothing).
SOURCES_KEPT = 10


# --- history ----------------------------------------------------------------------------------


def _content_text(content: Any) -> str:
    """A chat message's text, whether Gradio hands it over as a string or as content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text", ""))
    if isinstance(content, (list, tuple)):
        return " ".join(_content_text(part) for part in content)
    return ""


def history_turns(history: Sequence[Any]) -> list[Turn]:
    """The chat's earlier exchanges as plain (question, answer) turns, oldest first."""
    turns: list[Turn] = []
    question: str | None = None
    for item in history or []:
        role = item.get("role") if isinstance(item, dict) else getattr(item, "role", None)
        content = _content_text(item.get("content") if isinstance(item, dict) else getattr(item, "content", ""))
        if role == "user":
            question = content.strip()
        elif role == "assistant" and question:
            turns.append(Turn(question, plain_answer(content)))
            question = None
    return turns


# --- answering a question -----------------------------------------------------------------------


def respond(
    answerer: Answerer,
    question: str,
    history: Sequence[Any] = (),
    sources: Sequence[str] | None = None,
    condenser: Condenser | None = None,
) -> Iterator[tuple[str, list[Sources]]]:
    """Answer one chat question, streamed: (message HTML, new Sources) — none until the checked answer.

    With a chat history, the question is first rewritten into a standalone one (one LLM call).
    """
    turn = uuid.uuid4().hex[:8]
    try:
        searched = None
        turns = history_turns(history)
        if condenser is not None and turns:
            text = clean_question(question, answerer.settings.max_question_chars)
            standalone = condenser.run(text, turns)
            searched = standalone if standalone != text else None
            question = standalone
        quick, quick_event, shown = "", None, ""
        for event in answerer.stream(question, list(sources) if sources else None):
            if isinstance(event, Token):
                shown += event.text
                yield message_html(esc(shown), quick=quick, searched=searched), []
            elif isinstance(event, Answer):
                # Once the answer is there, the quote above it is the sentence it rests on: the
                # instant answer was only the closest sentence, and may be a neighbouring one.
                quoted = event.support or quick_event
                quick = quick_html(quoted, turn, done=True) if quoted is not None else ""
                yield (
                    final_html(event, turn, quick=quick, searched=searched),
                    [answer_sources(event, turn, quoted)],
                )
            elif isinstance(event, QuickAnswer):
                quick_event, quick = event, quick_html(event, turn)
                yield message_html("", quick=quick, searched=searched), []
            elif isinstance(event, Waiting):
                status = message("waiting", detect_language(question), ahead=event.ahead)
                yield message_html("", quick=quick, searched=searched, status=status), []
            elif isinstance(event, Reading) and not shown:  # which article the model reads, until it writes
                title = short_title(event.title)
                status = message("reading", detect_language(question), n=event.n, title=title, source=event.source)
                yield message_html("", quick=quick, searched=searched, status=status), []
    except (QuestionError, StoreError, ModelSetupError) as exc:  # the message says what to do
        yield message_html(esc(str(exc))), []


def follow_up_condenser(settings: Settings, answerer: Answerer) -> Condenser:
    """The rewriter of follow-ups: the answerer's LLM, in a context of its own unless configured not to."""
    model = answerer.chat_model
    return Condenser(own_context(model) if settings.followup_own_context else model, turns=answerer.turns)


# --- the handlers ------------------------------------------------------------------------------


@dataclass
class ChatHandlers:
    """The app's event handlers and what they share; :func:`ui.chat.build_app` wires them to the page.

    ``condenser`` rewrites follow-ups (None: a follow-up is searched as typed). A session's own
    state (its kept sources) is not held here but passed in and returned, as Gradio keeps it per
    browser tab.
    """

    settings: Settings
    answerer: Answerer
    condenser: Condenser | None = None

    def articles(self, offset: int = 0, matching: str = "") -> tuple[list[ArticleInfo], int]:
        """One page of the ingested articles (whose title or file name holds each word of ``matching``)
        and how many match; none (and a log line) if the index cannot be read."""
        store = self.answerer.retriever.store
        try:
            return list_articles(store, offset, ARTICLES_PAGE, matching), count_articles(store, matching)
        except StoreError as exc:
            log.warning("cannot list the articles: %s", exc)
            return [], 0

    def chat(
        self, question: str, history: list, sources: list[str] | None, kept: list[Sources] | None
    ) -> Iterator[tuple[str, Any, Any]]:
        """Stream (message, Sources panel, kept sources): the chat's outputs for one question."""
        for shown, new in respond(self.answerer, question, history, sources, self.condenser):
            # Until the checked answer only the message changes: skip leaves the panel and the
            # session's sources as they are.
            if not new:
                yield shown, gr.skip(), gr.skip()
                continue
            kept = (new + list(kept or []))[:SOURCES_KEPT]
            yield shown, sources_panel(kept), kept

    def refresh(
        self, matching: str = "", offset: int = 0, chosen: list[str] | None = None
    ) -> tuple[list[list[Any]], Any, str, int]:
        """The Articles table at ``offset`` (a page of those matching ``matching``), the filter's choices
        (that page and the articles already ``chosen``), the page's caption and its offset.

        Usage: ``rows, choices, caption, offset = handlers.refresh("graz", 0, [])``
        """
        offset = max(offset, 0)
        found, total = self.articles(offset, matching)
        if offset and not found and total:  # past the end (articles removed meanwhile): the last page
            offset = (total - 1) // ARTICLES_PAGE * ARTICLES_PAGE
            found, total = self.articles(offset, matching)
        chosen = list(chosen or [])
        try:
            kept = articles_of(self.answerer.retriever.store, chosen) if chosen else []
        except StoreError:
            kept = []
        picked = set(chosen)
        listed = [*kept, *(a for a in found if a.source not in picked)]
        return (
            article_rows(found),
            gr.update(choices=article_choices(listed)),
            page_caption(offset, len(found), total, matching),
            offset,
        )

    def upload(
        self,
        files: list[str] | None,
        matching: str = "",
        chosen: list[str] | None = None,
        progress: gr.Progress = gr.Progress(),
    ) -> tuple[str, list[list[Any]], Any, str, int]:
        """Ingest uploaded files; the summary, then :meth:`refresh`'s first page of the list.

        ``progress`` is filled in by Gradio (it finds it by its default); tests pass any callable.
        """
        if not files:
            return "No files.", *self.refresh(matching, 0, chosen)
        progress(0, desc="Ingesting …")
        try:
            summary = ingest_uploads(
                files, self.settings, lambda done, total, name: progress((done, total), desc=f"Ingested {name}")
            )
        except (StoreError, OSError) as exc:
            summary = f"Could not ingest: {exc}"
        return summary, *self.refresh(matching, 0, chosen)

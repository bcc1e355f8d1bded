"""The Gradio web chat: streamed, cited answers; the passages to check them; the articles at hand.

Usage::

    newsqa chat                      # http://127.0.0.1:7860
    launch(settings, host="127.0.0.1", port=7860, auth=("user", "password"))
    demo = build_app(settings, answerer)
    serve(demo, settings, port=7861, block=False)   # for tests: returns once the server is up
    handlers = ChatHandlers(settings, answerer)     # the app's event handlers, without a page
    *_, (message, panel, kept) = handlers.chat("Wie viele Soldaten?", [], None, [])

What a reader sees:

- the answer streams token by token; each ``[n]`` in it is a link that scrolls the Sources panel to
  passage n of *that* answer and highlights the sentence holding the cited number or words; numbers
  no cited passage holds are marked; a follow-up question is rewritten with the chat history
  (:mod:`rag.answer.condensing`) and the question actually searched is shown small under the answer;
- the Sources panel lists each answer's cited passages with title, file (or URL) and date;
- the Articles sidebar lists the ingested articles, takes uploads (ingested at once, with progress)
  and the "only these articles" filter limits the search.

The HTML of all this is built in :mod:`ui.rendering`; this module holds the app: the handlers,
their wiring to Gradio components, and serving.

Untrusted text: everything shown is escaped by :mod:`ui.rendering`, and the chatbot renders messages
as HTML without markdown (``render_markdown=False``), so ``[link](javascript:…)`` in an article stays
text. The chatbot's sanitiser stays on as a second line of defence.

Exposure: the chat binds 127.0.0.1 unless a host is given, can require a login, and refuses to
serve any file from the index (uploads are kept there), the corpus or the model cache.
"""

from __future__ import annotations

import ipaddress
import logging
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from ingest.loading import SUPPORTED_SUFFIXES
from rag.answer.answering import Answerer, build_answerer, clean_question
from rag.answer.condensing import Condenser, Turn, own_context
from rag.answer.quick import QuickAnswer
from rag.answer.results import Answer, QuestionError, Token, Waiting
from rag.models.gguf import ModelSetupError
from rag.retrieval.catalog import ArticleInfo, articles_of, count_articles, list_articles
from rag.settings import Settings
from rag.store import IndexMissingError, StoreError
from rag.text.language import detect_language, message
from ui.rendering import (
    CSS,
    EMPTY_SOURCES,
    JS,
    PREFIX,
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

#: Every event that asks a question shares this concurrency group, whether it came from the page, an
#: example or the API. Up to CHATS_AT_ONCE questions are taken at once: each is searched, refused by
#: the gate or given its instant answer at once, and their answers then take turns on the one model
#: (Answerer.turns), so a question the articles do not cover never waits behind others' answers.
GENERATION_GROUP = "newsqa-generation"
CHATS_AT_ONCE = 20

#: Questions waiting beyond this get "queue full" at once instead of waiting for many minutes.
QUEUE_SIZE = 100

#: Article files the upload takes: exactly what ingestion reads.
UPLOAD_TYPES = list(SUPPORTED_SUFFIXES)
#: Largest upload: a .jsonl feed of a few thousand articles; bounds what an upload puts on disk.
MAX_UPLOAD = "20mb"

#: Answers whose sources stay in the panel (older ones drop out; their links then do nothing).
SOURCES_KEPT = 10

ARTICLE_COLUMNS = ["Title", "Chunks", "Date", "File"]
#: Articles a page of the sidebar's list shows (and the filter offers, beside those already chosen): a
#: newsroom archive's hundreds of thousands would be megabytes on every page load.
ARTICLES_PAGE = 100

DESCRIPTION = (
    "Ask about the news articles in the index, in English or German, and follow up as in a "
    "conversation. Click a citation like [1] to see the passage it rests on."
)

#: [question, filter, state]: None keeps the filter and the session's sources as they are.
EXAMPLES = [
    ["How many soldiers did North Korea send?", None, None],
    ["Wie viele Soldaten wurden getötet oder verletzt?", None, None],
]


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
    except (QuestionError, StoreError, ModelSetupError) as exc:  # the message says what to do
        yield message_html(esc(str(exc))), []


# --- the articles at hand ---------------------------------------------------------------------


def article_rows(articles: Sequence[ArticleInfo]) -> list[list[Any]]:
    """One table row per article (plain-text cells: titles are untrusted)."""
    return [[a.label, a.chunks, a.date or "", a.url or a.name] for a in articles]


def article_choices(articles: Sequence[ArticleInfo]) -> list[tuple[str, str]]:
    """(label, source) pairs for the "only these articles" filter."""
    return [(f"{a.label} ({a.name})" if a.title else a.label, a.source) for a in articles]


def upload_dir(settings: Settings) -> Path:
    """Where uploaded articles are kept: beside the index, so they outlive Gradio's temp files."""
    return settings.index_dir / "uploads"


def save_uploads(files: Sequence[str], folder: Path) -> tuple[list[Path], list[str]]:
    """Copy uploaded files into ``folder`` under their own names; (saved paths, refused names)."""
    folder.mkdir(parents=True, exist_ok=True)
    saved, refused = [], []
    for file in files:
        name = Path(file).name.lstrip(".") or "upload.txt"
        if Path(name).suffix.lower() not in UPLOAD_TYPES:
            refused.append(name)
            continue
        dest = folder / name
        shutil.copyfile(file, dest)  # same name again: the article is replaced on ingestion
        saved.append(dest)
    return saved, refused


def ingest_uploads(
    files: Sequence[str], settings: Settings, progress: Callable[[int, int, str], None] | None = None
) -> str:
    """Save and ingest uploaded files; returns the summary a user reads."""
    from ingest.indexing import ingest

    saved, refused = save_uploads(files, upload_dir(settings))
    lines = [f"Not an article file (takes {', '.join(UPLOAD_TYPES)}): {name}" for name in refused]
    if saved:
        report = ingest(saved, settings, progress=progress, show_bar=False)
        lines += [f"Skipped {Path(s.path).name}: {s.reason}" for s in report.skipped]
        lines.append(report.summary())
    return "\n".join(lines) or "No files."


# --- the app ---------------------------------------------------------------------------------


def follow_up_condenser(settings: Settings, answerer: Answerer) -> Condenser:
    """The rewriter of follow-ups: the answerer's LLM, in a context of its own unless configured not to."""
    model = answerer.chat_model
    return Condenser(own_context(model) if settings.followup_own_context else model, turns=answerer.turns)


@dataclass
class ChatHandlers:
    """The app's event handlers and what they share; :func:`build_app` wires them to the page.

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


def page_caption(offset: int, shown: int, total: int, matching: str = "") -> str:
    """Which articles the page shows: "Articles 101–200 of 11,125", or why none.

    Usage: ``page_caption(100, 100, 11125)``
    """
    if not total:
        return f"No article title or file name holds “{matching.strip()}”." if matching.strip() else "No articles yet."
    which = f" matching “{matching.strip()}”" if matching.strip() else ""
    return f"Articles {offset + 1:,}–{offset + shown:,} of {total:,}{which}"


def build_app(settings: Settings, answerer: Answerer, condenser: Condenser | None = None) -> gr.Blocks:
    """The chat UI around an answerer (one generation at a time: one LLM, two cores).

    ``condenser`` rewrites follow-up questions; by default it uses the answerer's LLM (a local one in
    a llama.cpp context of its own unless ``NEWSQA_FOLLOWUP_OWN_CONTEXT=false``, see
    :func:`rag.answer.condensing.own_context`).
    """
    handlers = ChatHandlers(settings, answerer, condenser or follow_up_condenser(settings, answerer))

    with gr.Blocks(title="newsqa", fill_height=True) as demo:
        kept = gr.State([])  # this session's Sources, newest first
        with gr.Sidebar(label="Articles", open=False, width=420):
            gr.Markdown("### Articles in the index")
            find = gr.Textbox(
                placeholder="Find by title or file name …", show_label=False, elem_id=f"{PREFIX}-find-article"
            )
            with gr.Row():
                earlier = gr.Button("◀ Previous", size="sm", elem_id=f"{PREFIX}-articles-previous")
                caption = gr.Markdown(elem_id=f"{PREFIX}-articles-caption")
                later = gr.Button("Next ▶", size="sm", elem_id=f"{PREFIX}-articles-next")
            offset = gr.State(0)  # this session's page of the list
            articles = gr.Dataframe(
                headers=ARTICLE_COLUMNS,
                datatype=["str", "number", "str", "str"],
                interactive=False,
                wrap=True,
                label="Articles",
                elem_id=f"{PREFIX}-articles",
                column_widths=["48%", "16%", "16%", "20%"],
            )
            upload = gr.File(
                label=f"Add articles ({', '.join(UPLOAD_TYPES)})",
                file_count="multiple",
                file_types=UPLOAD_TYPES,
                elem_id=f"{PREFIX}-upload",
            )
            status = gr.Textbox(label="Ingestion", interactive=False, lines=2, elem_id=f"{PREFIX}-ingest-status")
        gr.Markdown("## newsqa — questions about your news articles")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                only = gr.Dropdown(
                    label="Only these articles (empty: all)",
                    choices=[],
                    value=[],
                    multiselect=True,
                    elem_id=f"{PREFIX}-only",
                )
                # Created here as the chat's output, shown in the right-hand column below.
                panel = gr.HTML(
                    EMPTY_SOURCES, label="Sources", render=False, elem_id=f"{PREFIX}-sources", padding=False
                )
                gr.ChatInterface(
                    handlers.chat,
                    chatbot=gr.Chatbot(
                        render_markdown=False,  # messages are our escaped HTML; markdown in articles stays text
                        sanitize_html=True,
                        elem_id=f"{PREFIX}-chat",
                        label="Chat",
                        height=560,
                    ),
                    additional_inputs=[only, kept],
                    additional_outputs=[panel, kept],
                    description=DESCRIPTION,
                    textbox=gr.Textbox(
                        placeholder="Ask about the articles …", elem_id=f"{PREFIX}-question", show_label=False
                    ),
                    examples=EXAMPLES,
                    run_examples_on_click=True,
                    cache_examples=False,
                    flagging_mode="never",
                    concurrency_limit=CHATS_AT_ONCE,
                    api_name="chat",
                )
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                panel.render()

        listing = [articles, only, caption, offset]
        demo.load(handlers.refresh, inputs=[find, offset, only], outputs=listing, api_visibility="private")
        find.change(
            handlers.refresh,
            inputs=[find, gr.State(0), only],
            outputs=listing,
            api_visibility="private",
            trigger_mode="always_last",
        )
        earlier.click(
            lambda m, o, c: handlers.refresh(m, o - ARTICLES_PAGE, c),
            inputs=[find, offset, only],
            outputs=listing,
            api_visibility="private",
        )
        later.click(
            lambda m, o, c: handlers.refresh(m, o + ARTICLES_PAGE, c),
            inputs=[find, offset, only],
            outputs=listing,
            api_visibility="private",
        )
        upload.upload(handlers.upload, inputs=[upload, find, only], outputs=[status, *listing], api_name="upload")
    _one_generation_at_a_time(demo)
    return demo


def _one_generation_at_a_time(demo: gr.Blocks) -> None:
    """Put every event that calls the chat function into one concurrency group.

    ChatInterface gives the page's submit, its examples and the ``/chat`` API separate events,
    each with a limit of its own: together they would take three times the questions at once.
    Those events are the ones carrying our explicit limit (the rest keep "default").
    """
    for block_fn in demo.fns.values():
        if block_fn.concurrency_limit == CHATS_AT_ONCE:
            block_fn.concurrency_id = GENERATION_GROUP


def _ensure_index(settings: Settings) -> None:
    """Starting the chat on an empty index ingests the corpus folder first."""
    from rag.models.embedding import get_embeddings
    from rag.store import open_store

    try:
        open_store(settings, get_embeddings(settings))
    except IndexMissingError:
        from ingest.indexing import ingest

        print(f"No index yet: ingesting {settings.corpus_dir} first …", file=sys.stderr)
        report = ingest([settings.corpus_dir], settings)
        for skipped in report.skipped:
            print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
        print(report.summary(), file=sys.stderr)


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``"user:password"`` as a login pair, None for no login; ValueError if malformed.

    Usage: ``parse_auth("anna:geheim")  # -> ("anna", "geheim")``
    """
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("the chat login must be given as user:password (both non-empty)")
    return user, password


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.1, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    demo: gr.Blocks,
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    block: bool = True,
    quiet: bool = False,
) -> None:
    """Queue and launch the app as ``newsqa chat`` does; ``block=False`` returns once it is up.

    The page's styles and the citation links' script are given here: Gradio 6 takes them at launch.
    """
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    private = [settings.index_dir, settings.corpus_dir, settings.model_dir]
    demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        auth_message="newsqa: please log in." if auth else None,
        show_error=False,
        footer_links=[],
        blocked_paths=[str(path.expanduser().resolve()) for path in private],
        max_file_size=MAX_UPLOAD,
        enable_monitoring=False,
        prevent_thread_lock=not block,
        quiet=quiet,
        css=CSS,
        js=JS,
    )


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None) -> None:
    """Ingest if needed, warm the models, and serve the chat until interrupted."""
    _ensure_index(settings)
    answerer = build_answerer(settings)
    # Warm in the background: the page is usable at once, and the first answer is not 10x slower.
    condenser = follow_up_condenser(settings, answerer)
    threading.Thread(target=_warm, args=(settings, answerer, condenser), daemon=True).start()
    demo = build_app(settings, answerer, condenser)
    print(f"newsqa chat on http://{host}:{port}" + (" (login required)" if auth else ""), file=sys.stderr)
    if not is_loopback(host) and not auth:
        print(
            f"newsqa: warning: the chat listens on {host} without a login; anyone who can reach this "
            "machine can use it. Add --auth user:password (or NEWSQA_CHAT_AUTH).",
            file=sys.stderr,
        )
    serve(demo, settings, host=host, port=port, auth=auth)


def _warm(settings: Settings, answerer: Answerer, condenser: Condenser) -> None:
    from rag.models.llm import warm_up

    try:
        answerer.retriever.run("warm up")
        warm_up(settings)
        answerer.warm_up()
        condenser.warm_up()
    except Exception as exc:  # warming is an optimisation; a failure shows up on the first question
        log.warning("could not warm up the models: %s", exc)

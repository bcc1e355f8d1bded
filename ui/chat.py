"""The Gradio web chat: streamed, cited answers; the passages to check them; the articles at hand.

Usage::

    newsqa chat                      # http://127.0.0.1:7860
    launch(settings, host="127.0.0.1", port=7860, auth=("user", "password"))
    demo = build_app(settings, answerer)
    serve(demo, settings, port=7861, block=False)   # for tests: returns once the server is up

What a reader sees:

- the answer streams token by token; each ``[n]`` in it is a link that scrolls the Sources panel to
  passage n of *that* answer and highlights the sentence holding the cited number or words; numbers
  no cited passage holds are marked; a follow-up question is rewritten with the chat history
  (:mod:`rag.condensing`) and the question actually searched is shown small under the answer;
- the Sources panel lists each answer's cited passages with title, file (or URL) and date;
- the Articles sidebar lists the ingested articles, takes uploads (ingested at once, with progress)
  and the "only these articles" filter limits the search.

Untrusted text: article text, titles and the model's words are HTML-escaped here, and the chatbot
renders messages as HTML without markdown (``render_markdown=False``), so neither ``<script>`` nor
``[link](javascript:…)`` in an article can become markup; the only tags on the page are ours. The
chatbot's sanitiser stays on as a second line of defence.

Exposure: the chat binds 127.0.0.1 unless a host is given, can require a login, and refuses to
serve any file from the index (uploads are kept there), the corpus or the model cache.
"""

from __future__ import annotations

import html
import importlib
import ipaddress
import logging
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answering import Answer, Answerer, QuestionError, Token, build_answerer, clean_question
from rag.catalog import ArticleInfo, list_articles
from rag.condensing import Condenser, Turn, own_context
from rag.language import message
from rag.llm import ModelSetupError
from rag.retrieving import Passage
from rag.settings import Settings
from rag.store import IndexMissingError, StoreError
from rag.supporting import claim_for, supporting_span

log = logging.getLogger(__name__)

#: Every event that runs the LLM shares this concurrency group: one model on two cores answers one
#: question at a time, whether it came from the page, an example or the API.
GENERATION_GROUP = "newsqa-generation"
GENERATIONS_AT_ONCE = 1

#: Questions waiting beyond this get "queue full" at once instead of waiting for many minutes.
QUEUE_SIZE = 100

#: Article files the upload takes (what ingestion reads).
UPLOAD_TYPES = [".txt", ".md", ".html", ".jsonl"]
#: Largest upload: a .jsonl feed of a few thousand articles; bounds what an upload puts on disk.
MAX_UPLOAD = "20mb"

#: Answers whose sources stay in the panel (older ones drop out; their links then do nothing).
SOURCES_KEPT = 10

ARTICLE_COLUMNS = ["Title", "Chunks", "Date", "File"]

DESCRIPTION = (
    "Ask about the news articles in the index, in English or German, and follow up as in a "
    "conversation. Click a citation like [1] to see the passage it rests on."
)

# Our markup's class and id prefix: nothing in Gradio's own page uses it.
_P = "nq"
_CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")

# Citation links scroll the Sources panel instead of following the href (the chatbot would open
# links in a new tab), open an older answer's folded sources, and flash the passage.
JS = """
() => {
  window.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href^='#nq-']");
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    const folded = target.closest("details");
    if (folded) folded.open = true;
    document.querySelectorAll(".nq-passage.nq-active").forEach((el) => el.classList.remove("nq-active"));
    target.classList.add("nq-active");
    target.scrollIntoView({behavior: "smooth", block: "center"});
  }, true);
}
"""

CSS = """
.nq-cite { font-size: 0.8em; vertical-align: super; text-decoration: none; padding: 0 1px;
           color: var(--color-accent); cursor: pointer; }
.nq-unsupported { background: #fde2e1; color: #8a1c14; border-bottom: 2px dotted #c0392b; }
.nq-warning { color: #8a1c14; font-size: 0.9em; margin-top: 4px; }
.nq-searched { display: block; color: var(--body-text-color-subdued); font-size: 0.8em; margin-top: 6px; }
.nq-quick { border-left: 3px solid var(--color-accent); padding-left: 8px; margin-bottom: 6px; font-size: 0.95em; }
.nq-quick-label { color: var(--body-text-color-subdued); font-size: 0.8em; }
.nq-quick.nq-done { opacity: 0.75; font-size: 0.85em; }
.nq-sources details { margin-bottom: 8px; }
.nq-sources summary { cursor: pointer; font-weight: 600; }
.nq-passage { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 8px 10px;
              margin: 8px 0; transition: box-shadow 0.3s, border-color 0.3s; }
.nq-passage.nq-active { border-color: var(--color-accent); box-shadow: 0 0 0 3px var(--color-accent-soft); }
.nq-meta { color: var(--body-text-color-subdued); font-size: 0.85em; margin: 2px 0 6px; word-break: break-all; }
.nq-text { white-space: pre-wrap; margin: 0; }
.nq-support { background: #fff3a3; color: inherit; padding: 0 1px; }
.nq-empty { color: var(--body-text-color-subdued); }
"""

EMPTY_SOURCES = f'<div class="{_P}-sources"><p class="{_P}-empty">The passages an answer cites appear here.</p></div>'


def _esc(text: str) -> str:
    """Text as an inert HTML text node (quotes too: the same helper fills attributes)."""
    return html.escape(text, quote=True)


def short_title(title: str, limit: int = 90) -> str:
    """A headline's first sentence, cut at a word to ``limit`` characters."""
    first = re.split(r"(?<=[.!?])\s", " ".join(title.split()), maxsplit=1)[0]
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + " …"


def _quick_answer_type() -> type | None:
    """The instant extractive answer's event class, once answering yields one (None before)."""
    for module in ("rag.answering", "rag.quick"):
        try:
            found = getattr(importlib.import_module(module), "QuickAnswer", None)
        except ImportError:
            continue
        if isinstance(found, type):
            return found
    return None


# --- the answer as the chat shows it -----------------------------------------------------------


def _mark_numbers(text: str, numbers: Sequence[str]) -> str:
    """Escaped ``text`` with each unsupported number wrapped in a visible mark."""
    if not numbers:
        return _esc(text)
    pattern = re.compile(
        "|".join(rf"(?<![\w.,]){re.escape(n)}(?![\d])" for n in sorted(set(numbers), key=len, reverse=True))
    )
    out, last = [], 0
    for match in pattern.finditer(text):
        out += [
            _esc(text[last : match.start()]),
            f'<mark class="{_P}-unsupported" title="in none of the cited passages">{_esc(match.group(0))}</mark>',
        ]
        last = match.end()
    return "".join(out) + _esc(text[last:])


def answer_html(text: str, turn: str, unsupported: Sequence[str] = ()) -> str:
    """The answer text escaped, its ``[n]`` turned into links to passage n of this ``turn``."""
    out, last = [], 0
    for match in _CITATION.finditer(text):
        out.append(_mark_numbers(text[last : match.start()], unsupported))
        for part in match.group(1).split(","):
            n = int(part)
            out.append(f'<a class="{_P}-cite" href="#{_P}-{turn}-{n}" title="show passage {n}">[{n}]</a>')
        last = match.end()
    out.append(_mark_numbers(text[last:], unsupported))
    return "".join(out)


def quick_html(event: Any, turn: str, done: bool = False) -> str:
    """The instant extractive answer: the best sentence of the best passage, shown before the LLM's.

    ``done``: the checked answer is there, so the instant one steps back (smaller, paler).
    """
    passage = getattr(event, "passage", None)
    title = short_title(getattr(event, "title", "") or getattr(event, "source", ""))
    link = f' <a class="{_P}-cite" href="#{_P}-{turn}-{passage}">[{passage}]</a>' if passage else ""
    return (
        f'<div class="{_P}-quick{f" {_P}-done" if done else ""}"><span class="{_P}-quick-label">From the article “{_esc(title)}”:</span><br>'
        f"{_esc(getattr(event, 'text', ''))}{link}</div>"
    )


def message_html(body: str, *, quick: str = "", warning: str = "", searched: str | None = None) -> str:
    """One chat message: the quick answer, the answer, a warning, and the question searched."""
    parts = [quick, f'<div class="{_P}-answer">{body}</div>']
    if warning:
        parts.append(f'<div class="{_P}-warning">⚠️ {_esc(warning)}</div>')
    if searched:
        parts.append(f'<small class="{_P}-searched">Searched for: {_esc(searched)}</small>')
    return "".join(parts)


def final_html(answer: Answer, turn: str, *, quick: str = "", searched: str | None = None) -> str:
    """The checked answer: linked citations, unsupported numbers marked and named below."""
    warning = ""
    if answer.unsupported_numbers:
        warning = message("unsupported_numbers", answer.language, numbers=", ".join(answer.unsupported_numbers))
    body = answer_html(answer.answer, turn, answer.unsupported_numbers)
    return message_html(body, quick=quick, warning=warning, searched=searched)


# --- the Sources panel -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    """The passages one answer cites, rendered for the Sources panel."""

    turn: str
    question: str
    body: str  # the passages' HTML


def passage_html(
    turn: str, n: int, passage: Passage, claim: str, label: str = "", span: tuple[int, int] | None = None
) -> str:
    """One passage: number, title, file or URL, date, and the text with its supporting sentence marked.

    The supporting sentence is ``span`` (offsets in the passage) or the one that best backs ``claim``.
    """
    text = passage.text
    span = span or supporting_span(claim, text)
    if span:
        start, end = span
        shown = f'{_esc(text[:start])}<mark class="{_P}-support">{_esc(text[start:end])}</mark>{_esc(text[end:])}'
    else:
        shown = _esc(text)
    where = _esc(passage.name)
    if passage.url and re.match(r"https?://", passage.url, re.IGNORECASE):
        where = f'<a href="{_esc(passage.url)}" target="_blank" rel="noopener noreferrer nofollow">{_esc(passage.url)}</a>'
    meta = where + (f" · {_esc(passage.date)}" if passage.date else "")
    return (
        f'<article class="{_P}-passage" id="{_P}-{turn}-{n}">'
        f'<div title="{_esc(passage.title)}"><strong>[{n}]</strong> {label}'
        f"<strong>{_esc(short_title(passage.title or passage.name))}</strong></div>"
        f'<div class="{_P}-meta">{meta}</div><p class="{_P}-text">{shown}</p></article>'
    )


def answer_sources(answer: Answer, turn: str, quick: Any | None = None) -> Sources:
    """The cited passages of ``answer`` (and the quick answer's passage, if not cited)."""
    parts = []
    for citation in answer.citations:
        if 0 < citation.n <= len(answer.passages):
            parts.append(passage_html(turn, citation.n, answer.passages[citation.n - 1], claim_for(answer.answer, citation.n)))
    cited = {c.n for c in answer.citations}
    n = getattr(quick, "passage", None)
    if isinstance(n, int) and 0 < n <= len(answer.passages) and n not in cited:
        label = f'<span class="{_P}-quick-label">(quick answer)</span> '
        start, end = getattr(quick, "start", None), getattr(quick, "end", None)
        span = (start, end) if isinstance(start, int) and isinstance(end, int) and start < end else None
        parts.append(passage_html(turn, n, answer.passages[n - 1], getattr(quick, "text", ""), label, span))
    body = "".join(parts) or f'<p class="{_P}-empty">No passage cited.</p>'
    return Sources(turn=turn, question=answer.question, body=body)


def sources_panel(kept: Sequence[Sources]) -> str:
    """Every kept answer's passages, newest first and open; older ones folded."""
    if not kept:
        return EMPTY_SOURCES
    sections = [
        f'<details {"open" if i == 0 else ""}><summary>{_esc(s.question)}</summary>{s.body}</details>'
        for i, s in enumerate(kept)
    ]
    return f'<div class="{_P}-sources">{"".join(sections)}</div>'


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


def plain_answer(content: str) -> str:
    """The answer's words from one of our messages (quick answer, warning and search line dropped)."""
    found = re.search(rf'<div class="{_P}-answer">(.*?)</div>', content, re.DOTALL)
    body = found.group(1) if found else content
    return html.unescape(re.sub(r"<[^>]+>", "", body)).strip()


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
    """The chat's streaming handler: (message HTML, passages) — no passages until the checked answer.

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
        quick_type = _quick_answer_type()
        quick, quick_event, shown = "", None, ""
        for event in answerer.stream(question, list(sources) if sources else None):
            if isinstance(event, Token):
                shown += event.text
                yield message_html(_esc(shown), quick=quick, searched=searched), []
            elif isinstance(event, Answer):
                quick = quick_html(quick_event, turn, done=True) if quick_event is not None else ""
                yield final_html(event, turn, quick=quick, searched=searched), [answer_sources(event, turn, quick_event)]
            elif quick_type is not None and isinstance(event, quick_type):
                quick_event, quick = event, quick_html(event, turn)
                yield message_html("", quick=quick, searched=searched), []
    except (QuestionError, StoreError, ModelSetupError) as exc:  # the message says what to do
        yield message_html(_esc(str(exc))), []


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
    return Condenser(own_context(model) if settings.followup_own_context else model)


def build_app(settings: Settings, answerer: Answerer, condenser: Condenser | None = None) -> gr.Blocks:
    """The chat UI around an answerer (one generation at a time: one LLM, two cores).

    ``condenser`` rewrites follow-up questions; by default it uses the answerer's LLM (a local one in
    a llama.cpp context of its own unless ``NEWSQA_FOLLOWUP_OWN_CONTEXT=false``, see
    :func:`rag.condensing.own_context`).
    """
    condenser = condenser or follow_up_condenser(settings, answerer)

    def current_articles() -> list[ArticleInfo]:
        try:
            return list_articles(answerer.retriever.store)
        except StoreError as exc:
            log.warning("cannot list the articles: %s", exc)
            return []

    with gr.Blocks(title="newsqa", fill_height=True) as demo:
        kept = gr.State([])  # this session's Sources, newest first
        with gr.Sidebar(label="Articles", open=False, width=420):
            gr.Markdown("### Articles in the index")
            articles = gr.Dataframe(
                headers=ARTICLE_COLUMNS,
                datatype=["str", "number", "str", "str"],
                interactive=False,
                wrap=True,
                label="Articles",
                elem_id=f"{_P}-articles",
                column_widths=["48%", "16%", "16%", "20%"],
            )
            upload = gr.File(
                label="Add articles (.txt, .md, .html, .jsonl)",
                file_count="multiple",
                file_types=UPLOAD_TYPES,
                elem_id=f"{_P}-upload",
            )
            status = gr.Textbox(label="Ingestion", interactive=False, lines=2, elem_id=f"{_P}-ingest-status")
        gr.Markdown("## newsqa — questions about your news articles")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                only = gr.Dropdown(
                    label="Only these articles (empty: all)",
                    choices=[],
                    value=[],
                    multiselect=True,
                    elem_id=f"{_P}-only",
                )
                panel = gr.HTML(EMPTY_SOURCES, label="Sources", render=False, elem_id=f"{_P}-sources", padding=False)

                def chat_fn(question: str, history: list, sources: list[str] | None, kept_now: list) -> Iterator[tuple]:
                    for shown, new in respond(answerer, question, history, sources, condenser):
                        if not new:  # streaming: only the message changes, the panel stays as it is
                            yield shown, gr.skip(), gr.skip()
                            continue
                        kept_now = (new + list(kept_now or []))[:SOURCES_KEPT]
                        yield shown, sources_panel(kept_now), kept_now

                gr.ChatInterface(
                    chat_fn,
                    chatbot=gr.Chatbot(
                        render_markdown=False,  # messages are our escaped HTML; markdown in articles stays text
                        sanitize_html=True,
                        elem_id=f"{_P}-chat",
                        label="Chat",
                        height=560,
                    ),
                    additional_inputs=[only, kept],
                    additional_outputs=[panel, kept],
                    description=DESCRIPTION,
                    textbox=gr.Textbox(placeholder="Ask about the articles …", elem_id=f"{_P}-question", show_label=False),
                    # [question, filter, state]: None keeps the filter and this session's sources as they are
                    examples=[
                        ["How many soldiers did North Korea send?", None, None],
                        ["Wie viele Soldaten wurden getötet oder verletzt?", None, None],
                    ],
                    run_examples_on_click=True,
                    cache_examples=False,
                    flagging_mode="never",
                    concurrency_limit=GENERATIONS_AT_ONCE,
                    api_name="chat",
                )
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                panel.render()

        def refresh() -> tuple[list[list[Any]], Any]:
            found = current_articles()
            return article_rows(found), gr.update(choices=article_choices(found))

        def on_upload(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[str, list[list[Any]], Any]:
            if not files:
                return "No files.", *refresh()
            progress(0, desc="Ingesting …")

            def step(done: int, total: int, name: str) -> None:
                progress((done, total), desc=f"Ingested {name}")

            try:
                summary = ingest_uploads(files, settings, step)
            except (StoreError, OSError) as exc:
                summary = f"Could not ingest: {exc}"
            return summary, *refresh()

        demo.load(refresh, outputs=[articles, only], api_visibility="private")
        upload.upload(on_upload, inputs=[upload], outputs=[status, articles, only], api_name="upload")
    _one_generation_at_a_time(demo)
    return demo


def _one_generation_at_a_time(demo: gr.Blocks) -> None:
    """Put every event that calls the chat function into one concurrency group.

    ChatInterface gives the page's submit, its examples and the ``/chat`` API separate events,
    each with its own limit of one: a browser user and an API user would generate at once.
    Those events are the ones carrying our explicit limit (the rest keep "default").
    """
    for block_fn in demo.fns.values():
        if block_fn.concurrency_limit == GENERATIONS_AT_ONCE:
            block_fn.concurrency_id = GENERATION_GROUP


def _ensure_index(settings: Settings) -> None:
    """Starting the chat on an empty index ingests the corpus folder first."""
    from rag.embedding import get_embeddings
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
    demo.queue(default_concurrency_limit=GENERATIONS_AT_ONCE, max_size=QUEUE_SIZE)
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
    from rag.llm import warm_up

    try:
        answerer.retriever.run("warm up")
        warm_up(settings)
        answerer.warm_up()
        condenser.warm_up()
    except Exception as exc:  # warming is an optimisation; a failure shows up on the first question
        log.warning("could not warm up the models: %s", exc)

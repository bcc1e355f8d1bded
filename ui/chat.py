"""The Gradio web chat: a streaming ChatInterface with the cited passages beside the answer.

Usage::

    newsqa chat                      # http://127.0.0.1:7860
    launch(settings, host="127.0.0.1", port=7860, auth=("user", "password"))
    demo = build_app(settings, answerer)
    serve(demo, settings, port=7861, block=False)   # for tests: returns once the server is up

Passages are shown in a plain-text table: article text is untrusted, and a table cell of type
"str" is never interpreted as HTML or markdown (Gradio renders it as a text node; only "html" and
"markdown" cells are rendered as markup). The chatbot sanitises HTML in answers (Gradio's default).

Exposure: the chat binds 127.0.0.1 unless a host is given, can require a login, and refuses to
serve any file from the index, the corpus or the model cache (Gradio serves only its own files
anyway; the block list keeps it so if an upload or cache folder ever ends up in one of them).
"""

from __future__ import annotations

import ipaddress
import logging
import sys
import threading
from collections.abc import Iterator

import gradio as gr

from rag.answering import Answer, Answerer, QuestionError, Token, build_answerer
from rag.language import message
from rag.llm import ModelSetupError
from rag.settings import Settings
from rag.store import IndexMissingError, StoreError

log = logging.getLogger(__name__)

PASSAGE_COLUMNS = ["#", "Title", "Source", "Passage"]

#: Every event that runs the LLM shares this concurrency group: one model on two cores answers one
#: question at a time, whether it came from the page, an example or the API.
GENERATION_GROUP = "newsqa-generation"
GENERATIONS_AT_ONCE = 1

#: Questions waiting beyond this get "queue full" at once instead of waiting for many minutes.
QUEUE_SIZE = 100

DESCRIPTION = (
    "Ask about the news articles in the index, in English or German. Every answer cites the "
    "passages it rests on; they are listed on the right."
)


def passage_rows(answer: Answer) -> list[list[str]]:
    """One row per cited passage, numbered as in the answer."""
    return [
        [str(c.n), c.title, c.url or c.source + (f" ({c.date})" if c.date else ""), " ".join(c.text.split())]
        for c in answer.citations
    ]


def render_answer(answer: Answer) -> str:
    """The checked answer as shown in the chat, with unsupported numbers flagged."""
    text = answer.answer
    if answer.unsupported_numbers:
        note = message("unsupported_numbers", answer.language, numbers=", ".join(answer.unsupported_numbers))
        text += f"\n\n⚠️ {note}"
    return text


def respond(answerer: Answerer, question: str) -> Iterator[tuple[str, list[list[str]]]]:
    """The chat's streaming handler: raw tokens while the model writes, then the checked answer."""
    try:
        shown = ""
        for event in answerer.stream(question):
            if isinstance(event, Token):
                shown += event.text
                yield shown, []
            else:
                yield render_answer(event), passage_rows(event)
    except (QuestionError, StoreError, ModelSetupError) as exc:  # the message says what to do
        yield str(exc), []


def build_app(settings: Settings, answerer: Answerer) -> gr.Blocks:
    """The chat UI around an answerer (one generation at a time: one LLM, two cores)."""
    with gr.Blocks(title="newsqa", fill_height=True) as demo:
        gr.Markdown("## newsqa — questions about your news articles")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                passages = gr.Dataframe(
                    headers=PASSAGE_COLUMNS,
                    datatype=["str", "str", "str", "str"],
                    label="Cited passages",
                    wrap=True,
                    interactive=False,
                    column_widths=["6%", "20%", "18%", "56%"],
                    render=False,
                )

                def chat_fn(question: str, history: list) -> Iterator[tuple[str, list[list[str]]]]:
                    yield from respond(answerer, question)

                gr.ChatInterface(
                    chat_fn,
                    additional_outputs=[passages],
                    description=DESCRIPTION,
                    examples=["How many soldiers did North Korea send?", "Wie viele Soldaten wurden getötet oder verletzt?"],
                    run_examples_on_click=True,
                    cache_examples=False,
                    flagging_mode="never",
                    concurrency_limit=GENERATIONS_AT_ONCE,
                    api_name="chat",
                )
            with gr.Column(scale=2):
                passages.render()
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
    """Queue and launch the app as ``newsqa chat`` does; ``block=False`` returns once it is up."""
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
        max_file_size="1mb",  # the chat takes no files; limits what an upload can put on disk
        enable_monitoring=False,
        prevent_thread_lock=not block,
        quiet=quiet,
    )


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None) -> None:
    """Ingest if needed, warm the models, and serve the chat until interrupted."""
    _ensure_index(settings)
    answerer = build_answerer(settings)
    # Warm in the background: the page is usable at once, and the first answer is not 10x slower.
    threading.Thread(target=_warm, args=(settings, answerer), daemon=True).start()
    demo = build_app(settings, answerer)
    print(f"newsqa chat on http://{host}:{port}" + (" (login required)" if auth else ""), file=sys.stderr)
    if not is_loopback(host) and not auth:
        print(
            f"newsqa: warning: the chat listens on {host} without a login; anyone who can reach this "
            "machine can use it. Add --auth user:password (or NEWSQA_CHAT_AUTH).",
            file=sys.stderr,
        )
    serve(demo, settings, host=host, port=port, auth=auth)


def _warm(settings: Settings, answerer: Answerer) -> None:
    from rag.llm import warm_up

    try:
        answerer.retriever.run("warm up")
        warm_up(settings)
        answerer.warm_up()
    except Exception as exc:  # warming is an optimisation; a failure shows up on the first question
        log.warning("could not warm up the models: %s", exc)

"""The Gradio web chat: a streaming ChatInterface with the cited passages beside the answer.

Usage::

    newsqa chat                      # http://127.0.0.1:7860
    launch(settings, host="127.0.0.1", port=7860)
    demo = build_app(settings, answerer)  # for tests: demo.launch(prevent_thread_lock=True)

Passages are shown in a plain-text table: article text is untrusted, and a table cell of type
"str" is never interpreted as HTML or markdown.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator

import gradio as gr

from rag.answering import Answer, Answerer, QuestionError, Token, build_answerer
from rag.language import message
from rag.settings import Settings
from rag.store import IndexMissingError

log = logging.getLogger(__name__)

PASSAGE_COLUMNS = ["#", "Title", "Source", "Passage"]

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
    except QuestionError as exc:
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
                    concurrency_limit=1,
                    api_name="chat",
                )
            with gr.Column(scale=2):
                passages.render()
    return demo


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


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None) -> None:
    """Ingest if needed, warm the models, and serve the chat until interrupted."""
    _ensure_index(settings)
    answerer = build_answerer(settings)
    # Warm in the background: the page is usable at once, and the first answer is not 10x slower.
    threading.Thread(target=_warm, args=(settings, answerer), daemon=True).start()
    demo = build_app(settings, answerer)
    demo.queue(default_concurrency_limit=1, max_size=100)
    print(f"newsqa chat on http://{host}:{port}", file=sys.stderr)
    demo.launch(server_name=host, server_port=port, auth=auth, show_error=False, footer_links=[])


def _warm(settings: Settings, answerer: Answerer) -> None:
    from rag.llm import warm_up

    try:
        answerer.retriever.run("warm up")
        warm_up(settings)
        answerer.warm_up()
    except Exception as exc:  # warming is an optimisation; a failure shows up on the first question
        log.warning("could not warm up the models: %s", exc)

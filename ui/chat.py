"""The Gradio web chat's page: the chat, the Sources panel and the Articles sidebar, wired to the handlers.

Usage::

    newsqa chat                      # http://127.0.0.1:7860 (ui.server.launch)
    demo = build_app(settings, answerer)
    serve(demo, settings, port=7861, block=False)   # ui.server: queued and launched as `newsqa chat` does

What a reader sees:

- the answer streams token by token; each ``[n]`` in it is a link that scrolls the Sources panel to
  passage n of *that* answer and highlights the sentence holding the cited number or words; numbers
  no cited passage holds are marked; a follow-up question is rewritten with the chat history
  (:mod:`rag.answer.condensing`) and the question actually searched is shown small under the answer;
- the Sources panel lists each answer's cited passages with title, file (or URL) and date;
- the Articles sidebar lists the ingested articles, takes uploads (ingested at once, with progress)
  and the "only these articles" filter limits the search.

This module holds the page's layout and its wiring; the handlers are :mod:`ui.handlers`, the Articles
list and uploads :mod:`ui.articles`, the HTML :mod:`ui.rendering`, serving :mod:`ui.server`.

Untrusted text: everything shown is escaped by :mod:`ui.rendering`, and the chatbot renders messages
as HTML without markdown (``render_markdown=False``), so ``[link](javascript:…)`` in an article stays
text. The chatbot's sanitiser stays on as a second line of defence.
"""

from __future__ import annotations

import gradio as gr

from rag.answer.answering import Answerer
from rag.answer.condensing import Condenser
from rag.settings import Settings, offline_environment
from ui.articles import ARTICLE_COLUMNS, ARTICLES_PAGE, UPLOAD_TYPES
from ui.handlers import ChatHandlers, follow_up_condenser
from ui.rendering import EMPTY_SOURCES, PREFIX

#: Every event that asks a question shares this concurrency group, whether it came from the page, an
#: example or the API. Up to CHATS_AT_ONCE questions are taken at once: each is searched, refused by
#: the gate or given its instant answer at once, and their answers then take turns on the one model
#: (Answerer.turns), so a question the articles do not cover never waits behind others' answers.
GENERATION_GROUP = "newsqa-generation"
CHATS_AT_ONCE = 20

DESCRIPTION = (
    "Ask about the news articles in the index, in English or German, and follow up as in a "
    "conversation. Click a citation like [1] to see the passage it rests on."
)

#: [question, filter, state]: None keeps the filter and the session's sources as they are.
EXAMPLES = [
    ["How many soldiers did North Korea send?", None, None],
    ["Wie viele Soldaten wurden getötet oder verletzt?", None, None],
]


def build_app(settings: Settings, answerer: Answerer, condenser: Condenser | None = None) -> gr.Blocks:
    """The chat UI around an answerer (one generation at a time: one LLM, two cores).

    ``condenser`` rewrites follow-up questions; by default it uses the answerer's LLM (a local one in
    a llama.cpp context of its own unless ``NEWSQA_FOLLOWUP_OWN_CONTEXT=false``, see
    :func:`rag.answer.condensing.own_context`).
    """
    offline_environment()  # Gradio reads GRADIO_ANALYTICS_ENABLED when the Blocks are built
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

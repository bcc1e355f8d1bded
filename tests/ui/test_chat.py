"""The Gradio chat over HTTP (gradio_client), on a real store; the LLM is a scripted stand-in.

The real LLM behind the chat is exercised end to end in tests/rag/test_answering_e2e.py and
tests/ui/test_cli.py; here the subject is the web app: streaming, the passages panel, errors.
"""

from __future__ import annotations

import re
import socket
from dataclasses import replace

import gradio as gr
import pytest
from gradio_client import Client

from ingest.indexing import ingest
from rag.answer.answering import Answerer
from rag.answer.condensing import Condenser
from rag.models.embedding import get_embeddings
from rag.retrieval.catalog import list_articles
from rag.retrieval.retrieving import Passage, Retriever
from rag.store import open_store
from tests.ingest.documents import docx_bytes, pdf_bytes
from tests.rag.answer.test_answering import make_answerer
from tests.ui.markup import HOSTILE_QUESTION, HOSTILE_REPLY, answer_text, tags, visible_text, write_hostile_article
from tests.ui.scripted import ChatScriptLLM
from ui.chat import ARTICLES_PAGE, SOURCES_KEPT, ChatHandlers, build_app, history_turns, ingest_uploads, respond
from ui.rendering import Sources, passage_html

#: The only tags the chat's own markup uses; anything else came from an article or the model.
OUR_TAGS = {"div", "details", "summary", "article", "strong", "p", "mark", "span", "a", "br", "small"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve():
    apps = []

    def start(settings, reply: str):
        answerer, llm = make_answerer(settings, reply)
        demo = build_app(settings, answerer)
        demo.queue(default_concurrency_limit=1)
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        apps.append(demo)
        return Client(f"http://127.0.0.1:{port}/", verbose=False), llm

    yield start
    for demo in apps:
        demo.close()


def cited_passage(answer: str, panel: str) -> tuple[str, dict[str, str], str]:
    """The first citation link of the answer, the passage it points to, and that passage's HTML."""
    link = next(
        attrs for tag, attrs in tags(answer) if tag == "a" and attrs.get("class") == "nq-cite" and "title" in attrs
    )
    target = link["href"].removeprefix("#")
    start = panel.index(f'id="{target}"')
    return target, link, panel[start : panel.index("</article>", start)]


def test_chat_streams_the_answer_and_shows_the_cited_passage(corpus_settings, serve):
    client, _ = serve(corpus_settings, "10.000 to 12.000 North Korean soldiers [1]")
    job = client.submit("How many North Korean soldiers are in Russia?", api_name="/chat")
    answer, panel = job.result(timeout=120)
    # [1] as the model wrote it, and any passage that holds a number [1] lacks (rag.answer.citing)
    assert re.fullmatch(r"10,000 to 12,000 North Korean soldiers \[1\](\[\d\])*", answer_text(answer))
    assert len(job.outputs()) > 2  # streamed: several partial answers before the final one
    target, link, passage = cited_passage(answer, panel)
    assert link["href"].endswith("-1") and link.get("title") == "show passage 1"
    assert "nordkorea-soldaten-russland.txt" in visible_text(passage)
    # the supporting sentence, the one holding the cited numbers, is highlighted
    support = passage.split('<mark class="nq-support">', 1)[1].split("</mark>", 1)[0]
    assert "12.000" in visible_text(support) and "Soldaten" in visible_text(support)


def test_unsupported_numbers_are_flagged_in_the_chat(corpus_settings, serve):
    client, _ = serve(corpus_settings, "10.000 to 99.000 soldiers [1]")
    answer, _ = client.predict("How many North Korean soldiers are in Russia?", api_name="/chat")
    assert "⚠️" in answer and "99,000" in visible_text(answer.split("⚠️")[1])
    marked = answer.split('<mark class="nq-unsupported"', 1)[1]
    assert visible_text(marked.split(">", 1)[1].split("</mark>")[0]) == "99,000"
    assert "10,000" not in marked.split("</mark>")[0]  # the supported number is not marked


def test_empty_question_gets_a_message_and_no_llm_call(corpus_settings, serve):
    client, llm = serve(corpus_settings, "should not be used [1]")
    answer, panel = client.predict("   ", api_name="/chat")
    assert answer_text(answer) == "Please type a question."
    assert llm.prompts == []


def test_passages_and_answers_are_shown_as_plain_text(settings, serve, tmp_path):
    ingest([write_hostile_article(tmp_path / "news")], settings, show_bar=False)
    client, _ = serve(settings, HOSTILE_REPLY)
    answer, panel = client.predict(HOSTILE_QUESTION, api_name="/chat")
    for markup in (answer, panel):
        used = {tag for tag, _ in tags(markup)}
        assert used <= OUR_TAGS, used - OUR_TAGS
        hrefs = [attrs["href"] for tag, attrs in tags(markup) if tag == "a"]
        assert all(h.startswith("#nq-") for h in hrefs), hrefs
        assert not any(k.startswith("on") for _, attrs in tags(markup) for k in attrs)
    # delivered verbatim, as text
    assert "<script>alert('x')</script>" in visible_text(panel)
    assert "[Link](javascript:alert(2))" in visible_text(panel)
    assert "<img src=y onerror=alert(3)>" in answer_text(answer)
    chatbot = next(c for c in client.config["components"] if c.get("type") == "chatbot")
    assert chatbot["props"]["render_markdown"] is False and chatbot["props"]["sanitize_html"] is True


def test_a_passage_names_its_url_and_date_and_never_links_elsewhere():
    article = Passage(
        text="Die Jungtiere wiegen je 180 Gramm.",
        source="/x/feed.jsonl#2",
        name="feed.jsonl#2",
        title="Panda-Zwillinge geboren",
        start=0,
        end=34,
        score=0.9,
        url="https://zoo.example/panda",
        date="2024-08-13",
    )
    shown = passage_html("t1", 2, article, "180 grams")
    meta = shown.split('<div class="nq-meta">', 1)[1].split("</div>", 1)[0]
    assert visible_text(meta) == "https://zoo.example/panda · 2024-08-13"
    assert [a["href"] for t, a in tags(meta) if t == "a"] == ["https://zoo.example/panda"]
    assert 'id="nq-t1-2"' in shown and visible_text(shown).startswith("[2] Panda-Zwillinge geboren")
    hostile = replace(article, url="javascript:alert(1)", date=None)
    meta = passage_html("t1", 2, hostile, "").split('<div class="nq-meta">', 1)[1].split("</div>", 1)[0]
    assert [t for t, _ in tags(meta)] == [] and visible_text(meta) == "feed.jsonl#2"  # no link, the file name


def test_uploads_are_kept_beside_the_index_ingested_and_replaced_by_name(settings, tmp_path):
    incoming = tmp_path / "gradio-temp"  # where Gradio puts an upload before the handler runs
    incoming.mkdir()
    (incoming / "brücke.md").write_text("# Neue Brücke in Linz\n\nDie Brücke ist 300 Meter lang.", encoding="utf-8")
    (incoming / "notizen.odt").write_bytes(b"PK\x03\x04")
    steps = []
    summary = ingest_uploads(
        [str(incoming / "brücke.md"), str(incoming / "notizen.odt")], settings, lambda *step: steps.append(step)
    )
    assert "Not an article file (takes .txt, .md, .html, .htm, .jsonl, .pdf, .docx): notizen.odt" in summary
    assert "Ingested 1 article(s)" in summary and steps == [(1, 1, "brücke.md")]
    kept = settings.index_dir / "uploads" / "brücke.md"
    assert kept.is_file() and not (settings.index_dir / "uploads" / "notizen.odt").exists()
    store = open_store(settings, get_embeddings(settings))
    [article] = list_articles(store)
    assert (article.title, article.source) == ("Neue Brücke in Linz", str(kept))
    # The same name again replaces the article instead of adding a second one.
    (incoming / "brücke.md").write_text("# Neue Brücke in Linz\n\nDie Brücke ist 320 Meter lang.", encoding="utf-8")
    ingest_uploads([str(incoming / "brücke.md")], settings)
    [article] = list_articles(store)
    assert "320 Meter" in " ".join(store.collection.get(include=["documents"])["documents"])
    assert "300 Meter" not in " ".join(store.collection.get(include=["documents"])["documents"])


def test_uploaded_pdf_and_docx_are_answered_and_cited_by_page_and_paragraph(settings, tmp_path):
    incoming = tmp_path / "gradio-temp"
    incoming.mkdir()
    page_one = ["Hochwasser in Tirol", "Der Inn trat am Montag in Kufstein und Wörgl über die Ufer, die Feuerwehr war"]
    page_two = ["mit 400 Einsatzkräften unterwegs. Rund 300 Keller liefen voll.", "Die Pegel sinken seit Dienstag."]
    (incoming / "hochwasser.pdf").write_bytes(pdf_bytes([page_one, page_two]))
    (incoming / "lawinen.docx").write_bytes(
        docx_bytes(
            [
                ("Title", "Lawinen in Vorarlberg"),
                ("Normal", "Im Montafon herrscht Lawinenwarnstufe vier."),
                ("Normal", "Am Wochenende gingen drei Lawinen ab, zwei Skifahrer wurden verschüttet."),
            ]
        )
    )
    (incoming / "scan.pdf").write_bytes(pdf_bytes([[]]))
    summary = ingest_uploads([str(incoming / n) for n in ("hochwasser.pdf", "lawinen.docx", "scan.pdf")], settings)
    assert "Skipped scan.pdf: scanned PDF without text" in summary and "Ingested 2 article(s)" in summary

    for question, reply, place, support in (
        ("Wie viele Keller liefen in Tirol voll?", "300 Keller", "pp. 1–2", "Rund 300 Keller liefen voll."),
        ("Wie viele Lawinen gingen im Montafon ab?", "drei Lawinen", "¶ 1–3", "Am Wochenende gingen drei Lawinen ab"),
    ):
        probe, _ = make_answerer(settings, "")
        n = next(i for i, p in enumerate(probe.retriever.run(question), start=1) if reply.split()[0] in p.text)
        answerer, _ = make_answerer(settings, f"{reply} [{n}]")
        *_, (message, [sources]) = respond(answerer, question)
        assert reply in answer_text(message)
        _, _, passage = cited_passage(message, sources.body)
        meta = passage.split('<div class="nq-meta">', 1)[1].split("</div>", 1)[0]
        assert place in visible_text(meta)
        marked = passage.split('<mark class="nq-support">', 1)[1].split("</mark>", 1)[0]
        assert support in visible_text(marked)


def test_a_follow_up_is_searched_as_a_standalone_question(corpus_settings):
    llm = ChatScriptLLM(
        answers={"killed": "4.000 [1]", "soldiers": "10.000 to 12.000 soldiers [1]"},
        rewrites={"and how many were killed?": "How many North Korean soldiers were killed?"},
        delay=0,
    )
    answerer = Answerer(
        corpus_settings, Retriever(open_store(corpus_settings, get_embeddings(corpus_settings)), 4), llm
    )
    *_, (first, _) = respond(answerer, "How many North Korean soldiers are in Russia?")
    assert llm.condense_prompts == []  # no history, no rewrite
    history = [
        {"role": "user", "content": "How many North Korean soldiers are in Russia?"},
        {"role": "assistant", "content": [{"type": "text", "text": first}]},  # as Gradio hands it back
    ]
    [turn] = history_turns(history)
    assert turn.question == "How many North Korean soldiers are in Russia?"
    assert re.fullmatch(r"10,000 to 12,000 soldiers \[1\](\[\d\])*", turn.answer)
    *_, (second, [sources]) = respond(answerer, "and how many were killed?", history, condenser=None)
    assert "Searched for" not in second  # no condenser: the question is searched as it is
    *_, (second, [sources]) = respond(answerer, "and how many were killed?", history, condenser=Condenser(llm))
    searched = second.split('<small class="nq-searched">', 1)[1].split("</small>", 1)[0]
    assert visible_text(searched) == "Searched for: How many North Korean soldiers were killed?"
    assert "User: How many North Korean soldiers are in Russia?" in llm.condense_prompts[-1][-1].content
    assert "Question: How many North Korean soldiers were killed?" in llm.answer_prompts[-1][-1].content
    # The passage says "rund 4.000": the qualifier the model left out is put back, and the amount is
    # put into English without a model (this answerer has no translator).
    assert answer_text(second) == "about 4,000 [1]" and "4.000" in visible_text(sources.body)


@pytest.mark.llm
def test_newsqa_chat_on_an_empty_index_ingests_the_corpus_and_answers(settings):
    """The README's main command, as a user runs it: `newsqa chat`, then a question in the browser."""
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    port = free_port()
    env = {
        **os.environ,
        "NEWSQA_INDEX_DIR": str(settings.index_dir),
        "NEWSQA_MODEL_DIR": str(settings.model_dir),
        "NEWSQA_CORPUS_DIR": str(settings.corpus_dir),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "chat", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        client = None
        deadline = time.time() + 300
        while client is None and time.time() < deadline and server.poll() is None:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            except Exception:
                time.sleep(2)
        assert client is not None, "the chat did not come up"
        answer, panel = client.predict("how many soldiers?", api_name="/chat")
        assert "12,000" in answer_text(answer) and "[" in answer_text(answer)
        _, _, passage = cited_passage(answer, panel)
        assert "nordkorea-soldaten-russland.txt" in visible_text(passage)
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0]
    assert "No index yet: ingesting" in output and "Ingested 1 article(s)" in output


@pytest.mark.parametrize("own", [True, False])
def test_follow_ups_get_their_own_llama_context_unless_configured_to_share(settings, own):
    from types import SimpleNamespace

    from rag.answer.turns import ModelTurns
    from rag.models.llm import LlamaCppChatModel
    from ui.chat import follow_up_condenser

    local = LlamaCppChatModel(model_path="/models/qwen.gguf", n_ctx=4096, n_threads=2, max_tokens=200)
    answerer = SimpleNamespace(chat_model=local, turns=ModelTurns())
    condenser = follow_up_condenser(settings.model_copy(update={"followup_own_context": own}), answerer)
    assert (condenser.chat_model is local) is (not own)
    assert condenser.chat_model.model_path == local.model_path
    assert condenser.turns is answerer.turns  # rewrites and answers take turns on one model


# --- the app's handlers, called as Gradio calls them but without a server -----------------------


def corpus_handlers(settings, llm) -> ChatHandlers:
    return ChatHandlers(settings, Answerer(settings, Retriever(open_store(settings, get_embeddings(settings)), 4), llm))


def test_the_chat_handler_streams_the_message_then_shows_and_keeps_the_newest_sources(corpus_settings):
    llm = ChatScriptLLM(answers={"soldiers": "10.000 to 12.000 soldiers [1]"}, delay=0)
    handlers = corpus_handlers(corpus_settings, llm)
    older = [Sources(f"old{i}", f"question {i}", "") for i in range(SOURCES_KEPT)]
    question = "How many North Korean soldiers are in Russia?"
    *streamed, (message, panel, kept) = handlers.chat(question, [], None, older)
    # While streaming, the panel and the session's sources are left alone.
    assert streamed and all(p == gr.skip() and k == gr.skip() for _, p, k in streamed)
    assert re.fullmatch(r"10,000 to 12,000 soldiers \[1\](\[\d\])*", answer_text(message))
    assert len(kept) == SOURCES_KEPT and kept[0].question == question and kept[1:] == older[:-1]
    newest = panel.split("</details>", 1)[0]
    assert question in visible_text(newest) and "nordkorea-soldaten-russland.txt" in visible_text(newest)
    # Above the answer: the sentence that holds its numbers, also the one marked in the panel.
    quoted = re.search(r'class="nq-quick nq-done">.*?<br>(.*?)<a', message, re.DOTALL).group(1)
    marked = re.search(r'<mark class="nq-support">(.*?)</mark>', newest, re.DOTALL).group(1)
    assert "12.000" in quoted and quoted.strip() == marked.strip()


def test_the_articles_table_and_filter_list_what_the_index_holds(corpus_settings):
    handlers = corpus_handlers(corpus_settings, ChatScriptLLM(delay=0))
    rows, choices, caption, offset = handlers.refresh()
    articles = list_articles(handlers.answerer.retriever.store)
    assert rows and [row[3] for row in rows] == [a.url or a.name for a in articles]
    assert [source for _, source in choices["choices"]] == [a.source for a in articles]
    assert caption == f"Articles 1–{len(articles)} of {len(articles)}" and offset == 0


def test_the_articles_list_pages_and_finds_by_title_or_file_name_and_keeps_chosen_articles(settings, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for n in range(ARTICLES_PAGE + 30):
        town = "Graz" if n % 50 == 7 else "Linz"
        (folder / f"bericht-{n:03d}.md").write_text(
            f"# Meldung {n:03d} aus {town}\n\nIn {town} wurden {n} neue Bäume gepflanzt.", encoding="utf-8"
        )
    ingest([folder], settings, show_bar=False)
    store = open_store(settings, get_embeddings(settings))
    handlers = ChatHandlers(settings, Answerer(settings, Retriever(store, 4), ChatScriptLLM(delay=0)))
    total = ARTICLES_PAGE + 30

    rows, _, caption, offset = handlers.refresh()
    assert len(rows) == ARTICLES_PAGE and caption == f"Articles 1–{ARTICLES_PAGE} of {total}" and offset == 0
    rows, choices, caption, offset = handlers.refresh("", ARTICLES_PAGE, [])
    assert [row[0] for row in rows][0] == f"Meldung {ARTICLES_PAGE:03d} aus Linz" and offset == ARTICLES_PAGE
    assert caption == f"Articles {ARTICLES_PAGE + 1}–{total} of {total}" and len(choices["choices"]) == 30
    # past the end (a stale page): the last page
    assert handlers.refresh("", 10 * ARTICLES_PAGE, [])[3] == ARTICLES_PAGE
    assert handlers.refresh("", -ARTICLES_PAGE, [])[3] == 0

    # every word, any case, in the title or the file name
    rows, _, caption, _ = handlers.refresh("graz MELDUNG", 0, [])
    assert [row[0] for row in rows] == ["Meldung 007 aus Graz", "Meldung 057 aus Graz", "Meldung 107 aus Graz"]
    assert caption == "Articles 1–3 of 3 matching “graz MELDUNG”"
    assert [row[3] for row in handlers.refresh("bericht-12", 0, [])[0]] == [f"bericht-12{d}.md" for d in range(10)]
    assert handlers.refresh("50%_", 0, [])[0] == []  # LIKE's wildcards are plain characters here
    rows, choices, caption, _ = handlers.refresh("Wien", 0, [])
    assert rows == [] and choices["choices"] == [] and caption == "No article title or file name holds “Wien”."

    # an article chosen in the filter stays a choice while the list shows others
    chosen = str(folder / "bericht-007.md")
    _, choices, _, _ = handlers.refresh("bericht-12", 0, [chosen])
    assert [source for _, source in choices["choices"]][0] == chosen and len(choices["choices"]) == 11


def test_the_upload_handler_ingests_with_progress_and_lists_the_new_article(settings, tmp_path):
    store = open_store(settings, get_embeddings(settings), create=True)
    handlers = ChatHandlers(settings, Answerer(settings, Retriever(store, 4), ChatScriptLLM(delay=0)))
    calls = []

    def progress(*args, **kwargs):
        calls.append((args, kwargs))

    assert handlers.upload(None, progress=progress)[0] == "No files." and calls == []
    (tmp_path / "linz.md").write_text("# Neue Brücke in Linz\n\nDie Brücke ist 300 Meter lang.", encoding="utf-8")
    summary, rows, choices, caption, _ = handlers.upload([str(tmp_path / "linz.md")], progress=progress)
    assert "Ingested 1 article(s)" in summary
    assert calls == [((0,), {"desc": "Ingesting …"}), (((1, 1),), {"desc": "Ingested linz.md"})]
    assert [row[0] for row in rows] == ["Neue Brücke in Linz"]
    assert [source for _, source in choices["choices"]] == [str(settings.index_dir / "uploads" / "linz.md")]
    assert caption == "Articles 1–1 of 1"

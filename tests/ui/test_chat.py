"""The Gradio chat over HTTP (gradio_client), on a real store; the LLM is a scripted stand-in.

The real LLM behind the chat is exercised end to end in tests/rag/test_answering_e2e.py and
tests/ui/test_cli.py; here the subject is the web app: streaming, the passages panel, errors. Its
handlers without a server are tests/ui/test_handlers.py, the Articles sidebar tests/ui/test_articles.py.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from gradio_client import Client

from ingest.indexing import ingest
from rag.retrieval.retrieving import Passage
from tests.rag.answer.test_answering import make_answerer
from tests.ui.markup import (
    HOSTILE_QUESTION,
    HOSTILE_REPLY,
    answer_text,
    cited_passage,
    tags,
    visible_text,
    write_hostile_article,
)
from tests.ui.serving import free_port
from ui.chat import build_app
from ui.rendering import passage_html

#: The only tags the chat's own markup uses; anything else came from an article or the model.
OUR_TAGS = {"div", "details", "summary", "article", "strong", "p", "mark", "span", "a", "br", "small"}


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

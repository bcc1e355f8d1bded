"""The chat's handlers, called as Gradio calls them but without a server, on a real store.

The LLM is a scripted stand-in (tests/ui/scripted.py); the served page is tests/ui/test_chat.py.
"""

from __future__ import annotations

import re

import gradio as gr
import pytest

from ingest.indexing import ingest
from rag.answer.answering import Answerer
from rag.answer.condensing import Condenser
from rag.answer.turns import ModelTurns
from rag.models.embedding import get_embeddings
from rag.retrieval.catalog import list_articles
from rag.retrieval.retrieving import Retriever
from rag.store import open_store
from tests.ui.markup import answer_text, visible_text
from tests.ui.scripted import ChatScriptLLM
from ui.articles import ARTICLES_PAGE
from ui.handlers import SOURCES_KEPT, ChatHandlers, follow_up_condenser, history_turns, respond
from ui.rendering import Sources


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


@pytest.mark.parametrize("own", [True, False])
def test_follow_ups_get_their_own_llama_context_unless_configured_to_share(settings, own):
    from types import SimpleNamespace

    from rag.models.llm import LlamaCppChatModel

    local = LlamaCppChatModel(model_path="/models/qwen.gguf", n_ctx=4096, n_threads=2, max_tokens=200)
    answerer = SimpleNamespace(chat_model=local, turns=ModelTurns())
    condenser = follow_up_condenser(settings.model_copy(update={"followup_own_context": own}), answerer)
    assert (condenser.chat_model is local) is (not own)
    assert condenser.chat_model.model_path == local.model_path
    assert condenser.turns is answerer.turns  # rewrites and answers take turns on one model


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

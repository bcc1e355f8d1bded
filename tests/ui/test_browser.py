"""The chat as a reader uses it, in a real browser: headless Debian Chromium driven by Playwright.

The app is served as ``newsqa chat`` serves it (:func:`ui.server.serve`: same queue, CSS and
JavaScript) on a real index with the real embedding model. The first test uses the real LLM end to
end and saves the screenshot shown in the README (docs/chat.png); the others use scripted models
(tests/ui/scripted.py) where the LLM's words do not matter, to keep the suite within minutes.

Run: ``.venv/bin/python -m pytest tests/ui/test_browser.py`` (needs /usr/bin/chromium: scripts/install.sh).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.indexing import ingest
from tests.conftest import CORPUS, ROOT
from tests.ui.markup import HOSTILE_QUESTION, HOSTILE_REPLY, write_hostile_article
from tests.ui.scripted import ChatScriptLLM
from tests.ui.serving import serve_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOT = ROOT / "docs" / "chat.png"

BOT = "#nq-chat [data-testid='bot']"
SOLDIERS = "How many North Korean soldiers are in Russia?"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run scripts/install.sh (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_chat(browser):
    """Serve the chat with an LLM and open it in a fresh browser session: ``page = open_chat(settings, llm)``."""
    served, contexts = [], []

    def start(settings, llm, url: str | None = None):
        if url is None:
            url, demo = serve_app(settings, llm)
            served.append(demo)
        context = browser.new_context(viewport={"width": 1400, "height": 950})
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []  # any alert() an article manages to run ends up here
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(url)
        page.locator("#nq-question textarea").wait_for(state="visible", timeout=60_000)
        page.url_served = url
        return page

    yield start
    for context in contexts:
        context.close()
    for demo in served:
        demo.close()


REFUSAL = "The articles do not answer"  # then the question and the closest article


def ask(page, question: str, timeout: float = 120_000):
    """Type a question as a reader does and wait for the checked answer; returns its message."""
    before = page.locator(BOT).count()
    box = page.locator("#nq-question textarea")
    box.fill(question)
    box.press("Enter")
    # Only the checked answer carries citation links (streamed tokens are plain text), or it is a refusal.
    page.wait_for_function(
        """([i, refusal]) => {
          const a = document.querySelectorAll("#nq-chat [data-testid='bot'] .nq-answer")[i];
          return a && (a.querySelector('a.nq-cite') || a.textContent.trim().startsWith(refusal));
        }""",
        arg=[before, REFUSAL],
        timeout=timeout,
    )
    return page.locator(BOT).nth(before)


def click_citation(page, message):
    """Click the answer's first citation; returns the passage it points to."""
    link = message.locator(".nq-answer a.nq-cite").first
    target = link.get_attribute("href")
    link.click()
    passage = page.locator(target)
    passage.wait_for(state="visible")
    return passage


def assert_in_view_and_highlighted(page, passage) -> None:
    # The passage is marked active and its highlighted sentence (or, without one, the passage) is on
    # screen: a window of the article can be taller than the screen.
    page.wait_for_function(
        """(el) => { const seen = el.querySelector('mark.nq-support') || el;
                     const r = seen.getBoundingClientRect();
                     return r.top >= 0 && r.bottom <= window.innerHeight && el.classList.contains('nq-active'); }""",
        arg=passage.element_handle(),
        timeout=10_000,
    )


@pytest.mark.llm
def test_a_reader_checks_the_cited_number_and_follows_up_with_the_real_llm(corpus_settings, open_chat):
    from rag.models.llm import get_chat_model

    page = open_chat(corpus_settings, get_chat_model(corpus_settings))
    box = page.locator("#nq-question textarea")
    box.fill(SOLDIERS)
    box.press("Enter")
    message = page.locator(BOT).first
    # The instant extractive answer is on screen before the model's answer is complete.
    message.locator(".nq-quick").wait_for(timeout=120_000)
    assert message.locator(".nq-answer a.nq-cite").count() == 0
    message.locator(".nq-answer a.nq-cite").first.wait_for(timeout=180_000)
    answer = message.locator(".nq-answer").inner_text()
    assert "12,000" in answer, answer

    passage = click_citation(page, message)
    assert_in_view_and_highlighted(page, passage)
    assert "12.000" in passage.locator("mark.nq-support").inner_text()
    assert "nordkorea-soldaten-russland.txt" in passage.locator(".nq-meta").inner_text()

    # (Not "and how many were killed?": the default reader refuses the killed-or-wounded count, a known
    # regression kept as a strict xfail in tests/rag/answer/test_answering_e2e.py.)
    follow_up = ask(page, "and where are they fighting?", timeout=240_000)
    searched = follow_up.locator(".nq-searched").inner_text()
    assert re.search(r"soldier", searched, re.IGNORECASE) and re.search(r"fight", searched, re.IGNORECASE), searched
    assert "Kursk" in follow_up.locator(".nq-answer").inner_text()
    passage = click_citation(page, follow_up)
    assert_in_view_and_highlighted(page, passage)
    assert "Kursk" in passage.locator("mark.nq-support").inner_text()

    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))


def test_the_answer_streams_token_by_token_and_the_page_is_not_rebuilt(corpus_settings, open_chat):
    llm = ChatScriptLLM(
        answers={
            "ticket ab": "10.000 to 12.000 soldiers sent by Pyongyang, ticket ab [1]",
            "ticket cd": "10.000 to 99.000 soldiers [1]",
        },
        delay=0.15,
    )
    page = open_chat(corpus_settings, llm)
    # Record, in the page, every text the answer shows and every change of the Sources panel.
    page.evaluate(
        """() => {
          window.seen = []; window.panelChanges = 0;
          const chat = document.querySelector('#nq-chat');
          new MutationObserver(() => {
            const answers = chat.querySelectorAll("[data-testid='bot'] .nq-answer");
            const text = answers.length ? answers[answers.length - 1].textContent : '';
            if (text && window.seen[window.seen.length - 1] !== text) window.seen.push(text);
          }).observe(chat, {subtree: true, childList: true, characterData: true});
          const sources = () => (document.querySelector('#nq-sources .nq-sources') || {}).innerHTML || '';
          let panel = sources();
          new MutationObserver(() => {
            const now = sources();
            if (now !== panel) { panel = now; window.panelChanges += 1; }
          }).observe(document.querySelector('#nq-sources'), {subtree: true, childList: true, characterData: true});
        }"""
    )
    message = ask(page, f"{SOLDIERS} (ticket ab)")
    question = page.locator("#nq-chat [data-testid='user']").first.element_handle()
    page.evaluate("(el) => { el.dataset.kept = 'yes'; }", question)

    *streamed, final = page.evaluate("window.seen")
    assert len(streamed) >= 4, streamed  # word after word, not all at once
    assert all(b.startswith(a.rstrip()) for a, b in zip(streamed, streamed[1:])), streamed
    assert final.startswith("10,000 to 12,000 soldiers")  # then replaced by the checked answer
    changes = page.evaluate("window.panelChanges")
    assert changes == 1  # the Sources panel was filled once, with the checked answer

    second = ask(page, f"{SOLDIERS} (ticket cd)")
    # Old messages stay the same elements; the panel changed once per answer, not once per token.
    assert page.locator("#nq-chat [data-testid='user'][data-kept='yes']").count() == 1
    assert page.evaluate("window.panelChanges") == 2
    # A number no cited passage holds is marked where it stands, and named under the answer.
    unsupported = second.locator(".nq-answer mark.nq-unsupported")
    assert unsupported.all_inner_texts() == ["99,000"]
    assert unsupported.evaluate("(el) => getComputedStyle(el).backgroundColor") not in (
        "rgba(0, 0, 0, 0)",
        "transparent",
    )
    assert "99,000" in second.locator(".nq-warning").inner_text()
    # The quick answer stands above the answer in the same message.
    order = message.evaluate("(el) => [...el.querySelectorAll('.nq-quick, .nq-answer')].map((e) => e.className)")
    assert order == ["nq-quick nq-done", "nq-answer"]  # stepped back once the checked answer came


def test_a_hostile_article_stays_text_in_the_browser(settings, open_chat, tmp_path):
    ingest([write_hostile_article(tmp_path / "news")], settings, show_bar=False)
    page = open_chat(settings, ChatScriptLLM(answers={"budget": HOSTILE_REPLY}))
    message = ask(page, HOSTILE_QUESTION)
    passage = click_citation(page, message)

    text = passage.locator(".nq-text").inner_text()
    assert "<script>alert('x')</script>" in text and "<img src=x onerror=alert(1)>" in text
    assert "[Link](javascript:alert(2))" in text and "**fett**" in text
    assert "<img src=y onerror=alert(3)>" in message.locator(".nq-answer").inner_text()
    assert (
        page.locator("#nq-sources img, #nq-sources script, #nq-chat img, #nq-sources strong:text('fett')").count() == 0
    )
    assert page.locator("a[href^='javascript']").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []


def test_a_follow_up_uses_this_sessions_history_only(corpus_settings, open_chat):
    llm = ChatScriptLLM(
        answers={"killed": "4.000 [1]", "soldiers": "10.000 to 12.000 soldiers [1]"},
        rewrites={"and how many were killed?": "How many North Korean soldiers were killed?"},
    )
    page = open_chat(corpus_settings, llm)
    # The first question comes from an example under the empty chat.
    page.locator("#nq-chat").get_by_text("How many soldiers did North Korea send?").click()
    page.locator(BOT).first.locator(".nq-answer a.nq-cite").first.wait_for(timeout=60_000)
    first = page.locator(BOT).first
    assert first.locator(".nq-searched").count() == 0  # nothing to rewrite a first question with
    follow_up = ask(page, "and how many were killed?")
    assert follow_up.locator(".nq-searched").inner_text() == "Searched for: How many North Korean soldiers were killed?"
    # "rund": the passage's qualifier, put back after the scripted model's bare number, in English.
    assert follow_up.locator(".nq-answer").inner_text().startswith("about 4,000")
    assert "User: How many soldiers did North Korea send?" in llm.condense_prompts[-1][-1].content
    passage = click_citation(page, follow_up)
    assert "4.000" in passage.locator("mark.nq-support").inner_text()
    # An earlier answer's citation still leads to its own passage (folded away under the new one).
    earlier = click_citation(page, first)
    assert_in_view_and_highlighted(page, earlier)
    assert "12.000" in earlier.locator("mark.nq-support").inner_text()

    # Another reader, same server: a fresh session has no history to rewrite with.
    other = open_chat(corpus_settings, llm, url=page.url_served)
    condensed = len(llm.condense_prompts)
    ask(other, "and how many were killed?")
    assert other.locator(".nq-searched").count() == 0
    assert len(llm.condense_prompts) == condensed


def test_an_uploaded_article_is_listed_searchable_at_once_and_can_be_filtered(settings, open_chat, tmp_path):
    from playwright.sync_api import expect

    ingest([CORPUS], settings, show_bar=False)
    llm = ChatScriptLLM(answers={"panda": "180 Gramm [1]"})
    page = open_chat(settings, llm)
    page.locator("button[aria-label='Toggle Sidebar']").click()
    articles = page.locator("#nq-articles")
    articles.locator("text=Nun ist es offiziell >> visible=true").first.wait_for(timeout=30_000)

    upload = tmp_path / "panda-zwillinge.txt"
    upload.write_text(
        "Panda-Zwillinge im Tiergarten Schönbrunn geboren\n"
        "Im Tiergarten Schönbrunn in Wien sind am Dienstag Panda-Zwillinge zur Welt gekommen. "
        "Die beiden Jungtiere wiegen jeweils rund 180 Gramm, teilte der Zoo mit.",
        encoding="utf-8",
    )
    page.locator("#nq-upload input[type='file']").set_input_files(str(upload))
    status = page.locator("#nq-ingest-status textarea")
    page.wait_for_function(
        "(el) => el.value.includes('Ingested 1 article')", arg=status.element_handle(), timeout=120_000
    )
    assert "1 added" in status.input_value() or "added" in status.input_value()
    articles.locator("text=Panda-Zwillinge im Tiergarten Schönbrunn geboren >> visible=true").first.wait_for(
        timeout=30_000
    )
    caption = page.locator("#nq-articles-caption")
    assert caption.inner_text().startswith("Articles 1–2 of 2")
    # The find box narrows the list to the articles whose title or file name holds its words.
    page.locator("#nq-find-article input, #nq-find-article textarea").first.fill("panda")
    page.wait_for_function("(el) => el.innerText.includes('matching')", arg=caption.element_handle(), timeout=30_000)
    assert caption.inner_text().startswith("Articles 1–1 of 1")
    expect(articles.locator("text=Nun ist es offiziell >> visible=true")).to_have_count(0, timeout=30_000)
    page.locator("#nq-find-article input, #nq-find-article textarea").first.fill("")
    articles.locator("text=Nun ist es offiziell >> visible=true").first.wait_for(timeout=30_000)

    message = ask(page, "How much do the panda twins weigh?")
    assert message.locator(".nq-answer").inner_text().startswith("rund 180 Gramm")  # the passage's "rund" kept
    passage = click_citation(page, message)
    assert "panda-zwillinge.txt" in passage.locator(".nq-meta").inner_text()
    assert "180 Gramm" in passage.locator("mark.nq-support").inner_text()

    # Only the soldiers article: the panda passage can no longer be found or shown to the model.
    prompts = len(llm.answer_prompts)
    page.locator("#nq-only input[role='combobox']").click()
    page.get_by_role("option", name=re.compile("Nun ist es offiziell")).click()
    page.keyboard.press("Escape")
    filtered = ask(page, "How much do the panda twins weigh?")
    assert filtered.locator(".nq-answer").inner_text().startswith(REFUSAL)
    assert all("Panda" not in str(p[-1].content) for p in llm.answer_prompts[prompts:])

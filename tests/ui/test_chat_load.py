"""Twenty people chatting at once: every one answered, nothing mixed up, one generation at a time,
and a question the articles do not cover refused at once instead of waiting behind the answers.

The app is served exactly as ``newsqa chat`` serves it (:func:`ui.server.serve`) on the real store,
with a thread-safe scripted LLM that echoes a ticket taken from each question and counts how many
generations run at the same moment. Sixteen sessions use the public API (gradio_client), four do what
the browser page does (save the textbox, then queue the page's own submit event over HTTP): before
the fix the page's event and the API had separate concurrency limits, so two generations ran at once.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from gradio_client import Client

from tests.ui.markup import answer_text
from tests.ui.serving import TICKET, EchoLLM, serve_app

QUESTION = "How many North Korean soldiers are in Russia? (ticket {ticket})"
API_SESSIONS, PAGE_SESSIONS = 16, 4


def ticket(n: int) -> str:
    """A letters-only ticket per session: 'ab', 'ac', ... (numbers would be checked as facts)."""
    return "t" + "abcdefghijklmnopqrstuvwxyz"[n // 26] + "abcdefghijklmnopqrstuvwxyz"[n % 26]


def dependency_id(client: Client, api_name: str) -> int:
    return next(d["id"] for d in client.config["dependencies"] if d.get("api_name") == api_name)


def page_session(url: str, client: Client, question: str, session: str, seen: dict) -> None:
    """What the browser sends: the textbox saved into the session, then the page's submit event."""
    api = url + "gradio_api/"
    body = {"event_data": None, "trigger_id": None, "session_hash": session}
    with httpx.Client(timeout=120) as http:
        http.post(
            api + "run/predict",
            json={**body, "data": [question], "fn_index": dependency_id(client, "_clear_and_save_textbox")},
        ).raise_for_status()
        # inputs: the saved question, the chat, the "only these articles" filter, the session's sources
        submit = {**body, "data": [None, None, [], None], "fn_index": dependency_id(client, "_submit_fn")}
        http.post(api + "queue/join", json=submit).raise_for_status()
        with http.stream("GET", api + "queue/data", params={"session_hash": session}) as events:
            for line in events.iter_lines():
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[len("data:") :])
                seen.setdefault("messages", []).append(event)
                if event.get("msg") == "process_completed":
                    chat = event["output"]["data"][1]
                    seen["answer"] = answer_text(chat[-1]["content"][0]["text"])
                    seen["success"] = event.get("success")
                    return


@pytest.mark.slow
def test_twenty_simultaneous_sessions_are_all_answered_in_turn(corpus_settings):
    llm = EchoLLM(delay=0.05)
    url, demo = serve_app(corpus_settings, llm)
    try:
        clients = [Client(url, verbose=False) for _ in range(API_SESSIONS)]
        jobs = {ticket(n): c.submit(QUESTION.format(ticket=ticket(n)), api_name="/chat") for n, c in enumerate(clients)}
        pages: dict[str, dict] = {ticket(API_SESSIONS + n): {} for n in range(PAGE_SESSIONS)}
        threads = [
            threading.Thread(target=page_session, args=(url, clients[0], QUESTION.format(ticket=t), f"page-{t}", seen))
            for t, seen in pages.items()
        ]
        for thread in threads:
            thread.start()

        deadline = time.monotonic() + 180
        while not all(job.done() for job in jobs.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for thread in threads:
            thread.join(timeout=max(1, deadline - time.monotonic()))

        answers = {t: answer_text(job.result(timeout=5)[0]) for t, job in jobs.items()}
        errors = {t: repr(job.exception()) for t, job in jobs.items() if job.exception()}
        answers |= {t: seen.get("answer", "") for t, seen in pages.items()}
        errors |= {t: str(seen) for t, seen in pages.items() if not seen.get("success")}
    finally:
        demo.close()

    assert errors == {}
    assert len(answers) == API_SESSIONS + PAGE_SESSIONS
    for own, answer in answers.items():
        assert TICKET.findall(answer) == [own], f"session {own} got {answer!r}"
        assert answer.startswith("10,000 to 12,000 soldiers")
    assert len(llm.gauge.prompts) == API_SESSIONS + PAGE_SESSIONS
    assert llm.gauge.peak == 1, f"{llm.gauge.peak} generations ran at once"
    # The ones whose answer waited for the model were told how many answers come first, the instant
    # answer already in front of them.
    told = [o for job in jobs.values() for o in job.outputs() if "answer(s) to other questions come first" in str(o)]
    assert len(told) >= API_SESSIONS // 2, f"only {len(told)} waiting notes"
    assert all("nq-quick" in str(o) for o in told)


def test_a_question_the_articles_do_not_cover_is_refused_while_answers_are_written(corpus_settings):
    llm = EchoLLM(delay=0.2)  # each answer takes seconds
    url, demo = serve_app(corpus_settings, llm)
    try:
        clients = [Client(url, verbose=False) for _ in range(4)]
        busy = [c.submit(QUESTION.format(ticket=ticket(n)), api_name="/chat") for n, c in enumerate(clients[:3])]
        while not llm.gauge.prompts:
            time.sleep(0.02)
        started = time.monotonic()
        refused = clients[3].predict("Which team won the 1994 football World Cup?", api_name="/chat")
        took = time.monotonic() - started
        still_busy = not all(job.done() for job in busy)
        for job in busy:
            job.result(timeout=120)
    finally:
        demo.close()
    assert answer_text(refused[0]).startswith("The articles do not answer")
    # Refused at once, not after the three answers ahead of it (about 2 s of words each).
    assert still_busy, f"the refusal took {took:.1f} s: it waited for the answers"
    assert len(llm.gauge.prompts) == 3

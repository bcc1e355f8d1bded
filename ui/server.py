"""Serving the chat: the index ingested if missing, the models warmed, the app launched with its guards.

Usage::

    newsqa chat                      # http://127.0.0.1:7860
    launch(settings, host="127.0.0.1", port=7860, auth=("user", "password"))
    serve(build_app(settings, answerer), settings, port=7861, block=False)   # for tests: returns once up
    parse_auth("anna:geheim")        # ("anna", "geheim"): the --auth value as a login pair

Exposure: the chat binds 127.0.0.1 unless a host is given, can require a login, and refuses to
serve any file from the index (uploads are kept there), the corpus or the model cache. The page
itself is built in :mod:`ui.chat`.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
import threading

import gradio as gr

from ingest.report import report_lines
from rag.answer.answering import Answerer, build_answerer
from rag.answer.condensing import Condenser
from rag.settings import Settings, offline_environment
from rag.store import IndexMissingError
from ui.chat import build_app
from ui.handlers import follow_up_condenser
from ui.rendering import CSS, JS

log = logging.getLogger(__name__)

#: Questions waiting beyond this get "queue full" at once instead of waiting for many minutes.
QUEUE_SIZE = 100

#: Largest upload: a .jsonl feed of a few thousand articles; bounds what an upload puts on disk.
MAX_UPLOAD = "20mb"


def ensure_index(settings: Settings) -> None:
    """Starting the chat on an empty index ingests the corpus folder first, reported as ``newsqa ingest``
    reports it (on stderr).

    Usage: ``ensure_index(settings)  # then open_store(settings, ...) finds an index``
    """
    from rag.models.embedding import get_embeddings
    from rag.store import open_store

    try:
        open_store(settings, get_embeddings(settings))
    except IndexMissingError:
        from ingest.indexing import ingest

        print(f"No index yet: ingesting {settings.corpus_dir} first …", file=sys.stderr)
        report = ingest([settings.corpus_dir], settings)
        for line in report_lines(report):
            print(line, file=sys.stderr)


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
    offline_environment()  # an entry point of its own: before the models load
    ensure_index(settings)
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

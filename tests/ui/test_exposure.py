"""What the served chat exposes: loopback by default, an optional login, and no files of ours.

The app is served exactly as ``newsqa chat`` serves it (:func:`ui.server.serve`) on a real store; the
LLM is the scripted stand-in of tests/ui/serving.py.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError

from tests.ui.serving import EchoLLM, serve_app
from ui.cli import build_parser
from ui.server import is_loopback, parse_auth


def test_the_chat_binds_to_loopback_unless_told_otherwise():
    args = build_parser().parse_args(["chat"])
    assert args.host == "127.0.0.1"
    assert is_loopback(args.host) and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")


@pytest.mark.parametrize("value", ["anna", ":geheim", "anna:", ""])
def test_a_malformed_login_is_rejected(value):
    if value == "":
        assert parse_auth(value) is None
    else:
        with pytest.raises(ValueError, match="user:password"):
            parse_auth(value)


def test_with_a_login_the_api_refuses_strangers_and_answers_the_user(corpus_settings):
    url, demo = serve_app(corpus_settings, EchoLLM(delay=0), auth=("anna", "geheim"))
    try:
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(url, verbose=False)
        # a wrong password: Gradio answers 400 "Incorrect credentials." (the client's plain ValueError)
        with pytest.raises(ValueError, match="Could not login"):
            Client(url, auth=("anna", "falsch"), verbose=False)
        refused = httpx.post(url + "login", data={"username": "anna", "password": "falsch"}, timeout=30)
        assert refused.status_code == 400 and "Incorrect credentials" in refused.text
        # the API itself, called without the client: no answer without a login
        stranger = httpx.post(
            url + "gradio_api/call/chat", json={"data": ["How many soldiers?", [], None, []]}, timeout=30
        )
        assert stranger.status_code == 401, stranger.text
        answer, _ = Client(url, auth=("anna", "geheim"), verbose=False).predict(
            "How many North Korean soldiers are in Russia? (ticket ok)", api_name="/chat"
        )
        assert "ticket ok" in answer
        # The page itself asks for the login instead of showing the chat.
        page = httpx.get(url, timeout=30)
        assert "newsqa: please log in." in page.text or page.status_code in (401, 403)
    finally:
        demo.close()


def _private_files(settings) -> list[Path]:
    article = next(settings.corpus_dir.glob("*.txt"))
    index_files = [p for p in settings.index_dir.rglob("*") if p.is_file()]
    models = [p for p in settings.model_dir.rglob("*") if p.is_file() and p.suffix in (".json", ".gguf")][:3]
    return [article, *index_files[:5], *models, Path("/etc/passwd")]


def test_no_file_of_the_corpus_index_or_models_is_downloadable(corpus_settings):
    url, demo = serve_app(corpus_settings, EchoLLM(delay=0))
    files = _private_files(corpus_settings)
    assert len(files) >= 4
    try:
        served = []
        with httpx.Client(timeout=30) as http:
            for path in files:
                text = path.read_bytes()[:200] if path != Path("/etc/passwd") else b"root:"
                for route in ("gradio_api/file=", "file=", "gradio_api/file/"):
                    for spelled in (str(path), quote(str(path)), "../" * 8 + str(path).lstrip("/")):
                        response = http.get(url + route + spelled)
                        if response.status_code == 200 and text and text in response.content:
                            served.append((route, spelled))
        assert served == []
    finally:
        demo.close()

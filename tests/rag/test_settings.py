"""The settings object: env vars with the NEWSQA_ prefix, validation, the README's table, and the process
environment (set by an explicit call, never by importing the settings)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.settings import OFFLINE_ENVIRONMENT, Settings, offline_environment, settings_table
from tests.conftest import ROOT

README = Path(__file__).resolve().parents[2] / "README.md"


def test_environment_variables_with_the_prefix_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSQA_TOP_K", "7")
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(tmp_path / "ix"))
    settings = Settings()
    assert settings.top_k == 7 and settings.index_dir == tmp_path / "ix"


def test_invalid_values_are_rejected_with_the_field_name():
    with pytest.raises(ValidationError, match="chunk_tokens"):
        Settings(chunk_tokens=600)  # e5 reads at most 512 tokens


def test_every_setting_is_documented_on_the_settings_page(monkeypatch):
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    page = (README.parent / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page == settings_table(), "docs/settings.md is stale: write rag.settings.settings_table() to it"
    assert all(f"| `NEWSQA_{name.upper()}` |" in page for name in Settings.model_fields)
    assert "docs/settings.md" in README.read_text(encoding="utf-8")


# --- the process environment ---------------------------------------------------------------------

#: Python run first in a child process: records the offline variables as each model library starts to
#: load (the OpenMP runtime reads OMP_WAIT_POLICY then, once), and prints them as JSON at exit.
WATCH_MODEL_IMPORTS = """
import atexit, importlib.abc, json, os, sys
from rag.settings import OFFLINE_ENVIRONMENT
LIBRARIES = ("torch", "llama_cpp", "onnxruntime", "transformers", "sentence_transformers", "gradio")
loaded = {}
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name in LIBRARIES and name not in loaded:
            loaded[name] = {key: os.environ.get(key) for key in OFFLINE_ENVIRONMENT}
sys.meta_path.insert(0, Watch())
atexit.register(lambda: print(json.dumps(loaded)))
"""


def clean_environment(**extra: str) -> dict[str, str]:
    """A child's environment without any of the offline variables (and this checkout importable)."""
    keep = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENVIRONMENT and k != "PYTHONPATH"}
    return {**keep, "PYTHONPATH": str(ROOT), **extra}


def run_watched(code: str, **extra: str) -> dict[str, dict[str, str | None]]:
    """Run ``code`` after WATCH_MODEL_IMPORTS in a clean child; the variables each library loaded with."""
    result = subprocess.run(
        [sys.executable, "-c", WATCH_MODEL_IMPORTS + code],
        cwd=ROOT,
        env=clean_environment(**extra),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_settings_changes_no_environment_variable():
    code = (
        "import os, sys; before = dict(os.environ)\n"
        "from rag.settings import Settings, get_settings; Settings(); get_settings()\n"
        "sys.exit(0 if dict(os.environ) == before else 1)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean_environment(), timeout=60)
    assert result.returncode == 0


def test_offline_environment_sets_what_is_not_set_and_keeps_what_is(monkeypatch):
    for name in OFFLINE_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # a user's own choice wins
    offline_environment()
    assert {name: os.environ[name] for name in OFFLINE_ENVIRONMENT} == {
        **OFFLINE_ENVIRONMENT,
        "OMP_WAIT_POLICY": "ACTIVE",
    }
    assert OFFLINE_ENVIRONMENT["OMP_WAIT_POLICY"] == "PASSIVE" and OFFLINE_ENVIRONMENT["HF_HUB_OFFLINE"] == "1"


@pytest.mark.slow
def test_the_model_loaders_set_it_before_torch_and_onnxruntime_load(model_dir):
    """Without an entry point (a library user): the loaders in rag.models set the variables themselves."""
    loaded = run_watched(
        "from rag.models.e5_convert import ensure_e5_model\n"
        "from rag.models.embedding import load_sentence_transformer\n"
        "from rag.models.onnx_e5 import OnnxEncoder, ensure_onnx_model\n"
        f"folder = ensure_e5_model({str(model_dir)!r})\n"
        "load_sentence_transformer(str(folder), 1)\n"
        "OnnxEncoder(ensure_onnx_model(folder), threads=1)\n"
    )
    assert {"torch", "onnxruntime"} <= loaded.keys()
    assert all(seen == OFFLINE_ENVIRONMENT for seen in loaded.values()), loaded

"""The settings object: env vars with the NEWSQA_ prefix, validation, and the README's table."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_environment_variables_with_the_prefix_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSQA_TOP_K", "7")
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(tmp_path / "ix"))
    settings = Settings()
    assert settings.top_k == 7 and settings.index_dir == tmp_path / "ix"


def test_invalid_values_are_rejected_with_the_field_name():
    with pytest.raises(ValidationError, match="chunk_tokens"):
        Settings(chunk_tokens=600)  # e5 reads at most 512 tokens


def test_every_setting_is_documented_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`NEWSQA_{name.upper()}`" not in readme]
    assert missing == []

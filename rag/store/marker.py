"""The change marker: a file that says the index changed, so other processes reopen it.

Usage::

    mark_changed(settings)                   # ingestion, when it wrote anything
    if generation(settings) != seen: ...     # a reader: another process wrote since ``seen``

Embedded Chroma keeps the vector index in memory per process, so a long-running reader must learn
from somewhere that another process wrote. :mod:`ingest.manifest` reads the same file (without
importing Chroma) to tell whether its manifest is still current.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from rag.settings import Settings


def generation_file(settings: Settings) -> Path:
    """Where the marker lives: ``<index_dir>/generation``."""
    return settings.index_dir / "generation"


def generation(settings: Settings) -> str:
    """The index's current generation ("" before the first write)."""
    try:
        return generation_file(settings).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def mark_changed(settings: Settings) -> None:
    """Tell other processes that the index changed (ingestion calls this when it wrote anything)."""
    path = generation_file(settings)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(f"{time.time_ns()}-{os.getpid()}", encoding="utf-8")
    os.replace(tmp, path)

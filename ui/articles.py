"""The chat's Articles sidebar: the ingested articles a page at a time, the filter's choices, uploads.

Usage::

    rows = article_rows(list_articles(store, 0, ARTICLES_PAGE))      # the table's rows
    choices = article_choices(articles)                               # the "only these articles" filter
    page_caption(100, 100, 11125)                                     # "Articles 101–200 of 11,125"
    summary = ingest_uploads(["/tmp/gradio/brücke.md"], settings)     # saved beside the index, ingested

Uploads are kept in the index folder (:func:`upload_dir`), so they outlive Gradio's temporary files;
an upload summary is the CLI's ingestion report (:func:`ingest.report.report_lines`), by file name.
The page that shows all this is built in :mod:`ui.chat`, its handlers are :mod:`ui.handlers`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ingest.loading import SUPPORTED_SUFFIXES
from ingest.report import report_lines
from rag.retrieval.catalog import ArticleInfo
from rag.settings import Settings

#: Article files the upload takes: exactly what ingestion reads.
UPLOAD_TYPES = list(SUPPORTED_SUFFIXES)

ARTICLE_COLUMNS = ["Title", "Chunks", "Date", "File"]
#: Articles a page of the sidebar's list shows (and the filter offers, beside those already chosen): a
#: newsroom archive's hundreds of thousands would be megabytes on every page load.
ARTICLES_PAGE = 100


def article_rows(articles: Sequence[ArticleInfo]) -> list[list[Any]]:
    """One table row per article (plain-text cells: titles are untrusted)."""
    return [[a.label, a.chunks, a.date or "", a.url or a.name] for a in articles]


def article_choices(articles: Sequence[ArticleInfo]) -> list[tuple[str, str]]:
    """(label, source) pairs for the "only these articles" filter."""
    return [(f"{a.label} ({a.name})" if a.title else a.label, a.source) for a in articles]


def page_caption(offset: int, shown: int, total: int, matching: str = "") -> str:
    """Which articles the page shows: "Articles 101–200 of 11,125", or why none.

    Usage: ``page_caption(100, 100, 11125)``
    """
    if not total:
        return f"No article title or file name holds “{matching.strip()}”." if matching.strip() else "No articles yet."
    which = f" matching “{matching.strip()}”" if matching.strip() else ""
    return f"Articles {offset + 1:,}–{offset + shown:,} of {total:,}{which}"


def upload_dir(settings: Settings) -> Path:
    """Where uploaded articles are kept: beside the index, so they outlive Gradio's temp files."""
    return settings.index_dir / "uploads"


def save_uploads(files: Sequence[str], folder: Path) -> tuple[list[Path], list[str]]:
    """Copy uploaded files into ``folder`` under their own names; (saved paths, refused names)."""
    folder.mkdir(parents=True, exist_ok=True)
    saved, refused = [], []
    for file in files:
        name = Path(file).name.lstrip(".") or "upload.txt"
        if Path(name).suffix.lower() not in UPLOAD_TYPES:
            refused.append(name)
            continue
        dest = folder / name
        shutil.copyfile(file, dest)  # same name again: the article is replaced on ingestion
        saved.append(dest)
    return saved, refused


def ingest_uploads(
    files: Sequence[str], settings: Settings, progress: Callable[[int, int, str], None] | None = None
) -> str:
    """Save and ingest uploaded files; returns the summary a user reads (the CLI's report, by name).

    Usage: ``ingest_uploads(["/tmp/gradio/brücke.md"], settings, lambda done, total, name: ...)``
    """
    from ingest.indexing import ingest

    saved, refused = save_uploads(files, upload_dir(settings))
    lines = [f"Not an article file (takes {', '.join(UPLOAD_TYPES)}): {name}" for name in refused]
    if saved:
        report = ingest(saved, settings, progress=progress, show_bar=False)
        lines += report_lines(report, names_only=True)
    return "\n".join(lines) or "No files."

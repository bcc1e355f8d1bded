""".txt articles: the whole file, decoded; only line endings normalised and control characters removed.

Usage::

    from ingest.loading import text
    article = text.parse(data, source="/abs/a.txt", stem="a")   # raises Unreadable for bad bytes
"""

from __future__ import annotations

from ingest.loading.decoding import decode, normalise_text, require_text
from ingest.loading.model import Article
from ingest.loading.titles import first_line, title_from_line


def parse(data: bytes, source: str, stem: str) -> Article:
    """The whole file as one article, headline (first non-empty line) included.

    Usage: ``article = parse(Path("a.txt").read_bytes(), "/abs/a.txt", "a")``
    """
    text = require_text(normalise_text(decode(data)))
    del data  # free the raw bytes before the caller holds the text (large files)
    return Article(source=source, title=title_from_line(first_line(text)) or stem, text=text)

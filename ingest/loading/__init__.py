"""Stage 1 of ingestion: find article files and turn them into :class:`Article` records.

Usage::

    from ingest.loading import discover, load_file
    files, skipped = discover([Path("corpus")])
    for path in files:
        articles, bad = load_file(path)   # never raises for bad content: bad files are Skipped

What ``Article.text`` holds (chunk offsets point into exactly this string):

* ``.txt``   the whole file, decoded; only line endings are normalised (``\\r\\n``, ``\\r`` to
  ``\\n``) and NUL/control characters removed. The headline (first non-empty line) stays in
  the text.
* ``.md``    the markdown after light cleanup: front matter, HTML comments, images and link URLs
  removed, heading/emphasis markers dropped. Headings stay in the text as plain lines.
* ``.html``  the readable text of the main content (``<article>``/``<main>``/``<body>``), one
  paragraph per line, headline as the first line.
* ``.jsonl`` each line's ``"text"`` value, normalised like ``.txt``.
* ``.pdf``   the text layer, layout lines joined into paragraphs (one per line), pages joined so a
  sentence runs across a page break; ``part_starts`` holds where each page begins.
* ``.docx``  visible paragraphs, headings and table rows, one per line; ``part_starts`` holds where
  each paragraph begins.

Modules: :mod:`.model` (records), :mod:`.discovery` (folders and file checks), :mod:`.files`
(reading one file), :mod:`.decoding` (bytes to text), :mod:`.titles`, :mod:`.registry` (suffix to
parser, :func:`load_file`), and one per format: :mod:`.text`, :mod:`.markdown`, :mod:`.html`,
:mod:`.jsonl`, :mod:`.pdf`, :mod:`.docx`.
"""

from __future__ import annotations

from ingest.loading.decoding import normalise_text
from ingest.loading.discovery import discover
from ingest.loading.model import Article, Skipped
from ingest.loading.registry import SUPPORTED_SUFFIXES, load_file
from ingest.loading.titles import title_from_line

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Article",
    "Skipped",
    "discover",
    "load_file",
    "normalise_text",
    "title_from_line",
]

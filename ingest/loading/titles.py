"""Display titles from an article's first line.

Usage::

    from ingest.loading.titles import first_line, title_from_line
    title = title_from_line(first_line(text))   # long first lines give their first sentence
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Headlines longer than this are really the first paragraph (10kGNAD articles are one long line).
_MAX_TITLE_CHARS = 200

# The first sentence of a long first line: a lowercase word ending in . ! or ? followed by a
# capitalised word. Requiring 3 lowercase letters before the stop avoids "z. B." and "Dr.".
_FIRST_SENTENCE = re.compile(r"^(.{20,200}?[a-zäöüß]{3}[.!?][\"'”“»«]?)\s+[\"„“«»]?[A-ZÄÖÜ0-9]")


def title_from_line(line: str) -> str:
    """A display title from an article's first line: the line, or its first sentence if long.

    Usage: ``title_from_line("Kurzer Titel")  # -> "Kurzer Titel"``
    """
    line = " ".join(line.split())
    if len(line) <= _MAX_TITLE_CHARS:
        return line
    match = _FIRST_SENTENCE.match(line)
    if match:
        return match.group(1)
    cut = line.rfind(" ", 0, 150)
    return line[: cut if cut > 40 else 150].rstrip(" ,;:-–") + " …"


def first_line(text: str) -> str:
    """The first non-empty line of ``text``, or ``""``.

    Usage: ``first_line("\\nTitel\\nText")  # -> "Titel"``
    """
    for line in _iter_lines(text):
        if line.strip():
            return line
    return ""


def _iter_lines(text: str) -> Iterator[str]:
    """Lines of ``text`` without building the full list (matters for 50 MB files)."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1

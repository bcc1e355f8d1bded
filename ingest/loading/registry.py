"""Which parser loads which suffix, and :func:`load_file`, the dispatcher that never raises.

A new format is one module with a ``parse(data, source, stem) -> Article`` (or a
``load(path, source)`` for many articles per file) plus one entry in ``LOADERS``.

Usage::

    from ingest.loading.registry import load_file
    articles, skipped = load_file(Path("corpus/a.html"))
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ingest.loading import docx, html, jsonl, markdown, pdf, text
from ingest.loading.decoding import binary_kind
from ingest.loading.files import read_bytes
from ingest.loading.model import Article, Skipped, Unreadable

#: Turns a file into articles; may raise :class:`Unreadable` for the file as a whole.
Loader = Callable[[Path, str], tuple[list[Article], list[Skipped]]]
#: Turns a whole file's bytes into its one article: ``parse(data, source, stem)``.
Parser = Callable[[bytes, str, str], Article]


def whole_file(parse: Parser) -> Loader:
    """A :data:`Loader` for formats with one article per file, read in one go.

    Usage: ``LOADERS[".txt"] = whole_file(text.parse)``
    """

    def load(path: Path, source: str) -> tuple[list[Article], list[Skipped]]:
        # The bytes are passed on, not kept here, so the parser's `del data` really frees them.
        return [parse(read_bytes(path), source, path.stem)], []

    return load


# Insertion order is the order the supported types are listed to the user.
LOADERS: dict[str, Loader] = {
    ".txt": whole_file(text.parse),
    ".md": whole_file(markdown.parse),
    ".html": whole_file(html.parse),
    ".htm": whole_file(html.parse),
    ".jsonl": jsonl.load,
    ".pdf": whole_file(pdf.parse),
    ".docx": whole_file(docx.parse),
}
SUPPORTED_SUFFIXES = tuple(LOADERS)


def is_supported(path: Path) -> bool:
    """Whether ``path``'s suffix (any case) has a loader.

    Usage: ``is_supported(Path("A.HTML"))  # -> True``
    """
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def unsupported_reason(path: Path) -> str:
    """The skip reason for a file type without a loader, listing the supported ones.

    Usage: ``unsupported_reason(Path("a.pdf"))  # -> "unsupported file type '.pdf' (supported: ...)"``
    """
    return f"unsupported file type '{path.suffix or 'no suffix'}' (supported: {', '.join(SUPPORTED_SUFFIXES)})"


def file_type(path: Path) -> str:
    """What kind of file ``path`` looks like, for naming a file newsqa does not read.

    Usage: ``file_type(Path("photo.png"))  # -> "PNG image (.png)"``; ``"'.odt' file"`` when unknown.

    Only call it for regular files: it reads the first bytes.
    """
    suffix = path.suffix.lower()
    try:
        with path.open("rb") as handle:
            kind = binary_kind(handle.read(16))
    except OSError:
        kind = None
    if kind:
        return f"{kind} ({suffix})" if suffix else kind
    return f"'{suffix}' file" if suffix else "file without a suffix"


def load_file(path: Path) -> tuple[list[Article], list[Skipped]]:
    """Load the articles in one file; bad content becomes :class:`Skipped`, never an exception.

    Usage: ``articles, skipped = load_file(Path("corpus/nordkorea-soldaten-russland.txt"))``

    A ``.txt``, ``.md``, ``.html``, ``.pdf`` or ``.docx`` file gives at most one article; a ``.jsonl`` file one per
    good line (bad lines are reported one by one, the good ones still load).
    """
    path = Path(path)
    source = os.path.abspath(path)
    try:
        loader = LOADERS.get(path.suffix.lower())
        if loader is None:
            raise Unreadable(unsupported_reason(path))
        return loader(path, source)
    except Unreadable as problem:
        return [], [Skipped(str(path), str(problem))]

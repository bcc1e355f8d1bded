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
"""

from __future__ import annotations

import codecs
import errno
import json
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".jsonl")

# Headlines longer than this are really the first paragraph (10kGNAD articles are one long line).
_MAX_TITLE_CHARS = 200


@dataclass(frozen=True)
class Article:
    """One news article ready for chunking.

    Usage: ``Article(source="/abs/a.txt", title="Headline", text="Headline\\nBody.")``

    ``source`` is the absolute file path (``"<path>#<line>"`` or ``"<path>#id=<id>"`` for a
    ``.jsonl`` line); the record manager uses it as the article's identity.
    """

    source: str
    title: str
    text: str
    url: str | None = None
    date: str | None = None

    @property
    def name(self) -> str:
        """File name for display, e.g. ``"nordkorea.txt"`` or ``"feed.jsonl#3"``."""
        return Path(self.source).name


@dataclass(frozen=True)
class Skipped:
    """A file (or ``.jsonl`` line) that was not loaded, with the reason in plain English.

    Usage: ``Skipped(path="photo.txt", reason="binary file (PNG image), not text")``
    """

    path: str
    reason: str


class _Unreadable(Exception):
    """Internal: raised inside the loaders, turned into a :class:`Skipped` by :func:`load_file`."""


# --------------------------------------------------------------------------------------------
# Finding files
# --------------------------------------------------------------------------------------------


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[Skipped]]:
    """Expand files and folders into the article files to load, in a stable order.

    Usage: ``files, skipped = discover([Path("corpus"), Path("extra/article.html")])``

    Folders are searched recursively (sorted, hidden files and folders skipped, symlinked folders
    followed once so loops end). Files with other suffixes inside folders are ignored silently;
    a file named explicitly with an unsupported suffix, a missing path, an unreadable folder, and
    any article file that is a pipe, socket, device, broken link or link loop or whose name is not
    UTF-8 is reported as :class:`Skipped`. The same file reached twice is returned once.
    """
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = _walk(path, skipped)
        elif not path.exists() and not path.is_symlink():
            skipped.append(Skipped(str(path), "no such file or folder"))
            continue
        else:
            problem = _file_problem(path) or (None if _is_supported(path) else _unsupported(path))
            if problem:
                skipped.append(Skipped(str(path), problem))
                continue
            found = [path]
        for file in found:
            key = os.path.realpath(file)
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files, skipped


_BROKEN_LINK = "broken symbolic link (its target does not exist)"


def _file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be loaded as an article file, or None for a readable-looking regular file.

    Usage: ``_file_problem(Path("news/pipe.txt"))  # -> "named pipe (FIFO), not a regular file"``
    """
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        # The name's bytes are not UTF-8 (e.g. Latin-1 from an old archive): the path could not be
        # stored as the article's source or shown to the user.
        return "file name is not valid UTF-8: rename the file (e.g. with `convmv -f latin1 -t utf8`)"
    try:
        mode = path.stat().st_mode
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop (the link leads back to itself)"
        if path.is_symlink():
            return _BROKEN_LINK
        return f"cannot be read: {error.strerror or error}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO), not a regular file"
    if stat.S_ISSOCK(mode):
        return "socket, not a regular file"
    return "device, not a regular file"


def _is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def _unsupported(path: Path) -> str:
    return (
        f"unsupported file type '{path.suffix or 'no suffix'}' "
        f"(supported: {', '.join(SUPPORTED_SUFFIXES)})"
    )


def _walk(root: Path, skipped: list[Skipped]) -> list[Path]:
    """Supported, non-hidden files under ``root``; folder errors are appended to ``skipped``."""

    def on_error(error: OSError) -> None:
        where = error.filename or str(root)
        if isinstance(error, PermissionError):
            skipped.append(Skipped(str(where), "permission denied (cannot list folder)"))
        else:
            skipped.append(Skipped(str(where), f"cannot list folder: {error.strerror or error}"))

    found: list[Path] = []
    visited: set[tuple[int, int]] = set()
    # followlinks=True so symlinked folders are read, but each real folder only once: that is
    # what stops a link pointing at its own parent from looping forever.
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=on_error):
        try:
            stat = os.stat(dirpath)
        except OSError:
            dirnames.clear()
            continue
        if (stat.st_dev, stat.st_ino) in visited:
            dirnames.clear()
            continue
        visited.add((stat.st_dev, stat.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not _is_supported(Path(name)):
                continue
            file = Path(dirpath) / name
            # Pipes, sockets, devices and link loops in a folder are reported, never opened:
            # reading a pipe would block the ingestion forever.
            problem = _file_problem(file)
            if problem:
                skipped.append(Skipped(str(file), problem))
            else:
                found.append(file)
    return found


# --------------------------------------------------------------------------------------------
# Loading one file
# --------------------------------------------------------------------------------------------


def load_file(path: Path) -> tuple[list[Article], list[Skipped]]:
    """Load the articles in one file; bad content becomes :class:`Skipped`, never an exception.

    Usage: ``articles, skipped = load_file(Path("corpus/nordkorea-soldaten-russland.txt"))``

    A ``.txt``, ``.md`` or ``.html`` file gives at most one article; a ``.jsonl`` file one per
    good line (bad lines are reported one by one, the good ones still load).
    """
    path = Path(path)
    source = os.path.abspath(path)
    suffix = path.suffix.lower()
    try:
        if suffix not in SUPPORTED_SUFFIXES:
            raise _Unreadable(_unsupported(path))
        if suffix == ".jsonl":
            return _load_jsonl(path, source)
        data = _read_bytes(path)
        if suffix == ".txt":
            article = _parse_txt(data, source, path.stem)
        elif suffix == ".md":
            article = _parse_markdown(data, source, path.stem)
        else:
            article = _parse_html(data, source, path.stem)
    except _Unreadable as problem:
        return [], [Skipped(str(path), str(problem))]
    return [article], []


def _require_regular_file(path: Path) -> None:
    # Opening a pipe or device would block or read forever.
    if path.is_dir():
        raise _Unreadable("is a folder, not a file")
    if path.exists() and not path.is_file():
        raise _Unreadable("not a regular file (device, pipe or socket)")


def _read_bytes(path: Path) -> bytes:
    _require_regular_file(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise _Unreadable("no such file (it may have been moved or deleted)") from None
    except PermissionError:
        raise _Unreadable("permission denied") from None
    except IsADirectoryError:
        raise _Unreadable("is a folder, not a file") from None
    except OSError as error:
        raise _Unreadable(f"could not be read: {error.strerror or error}") from None


# --------------------------------------------------------------------------------------------
# Decoding bytes to text
# --------------------------------------------------------------------------------------------

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive or Office/EPUB document"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Microsoft Office document"),
    (b"{\\rtf", "RTF document"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x7fELF", "executable program"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"ID3", "MP3 audio"),
    (b"OggS", "Ogg audio/video"),
    (b"fLaC", "FLAC audio"),
    (b"wOFF", "web font"),
    (b"wOF2", "web font"),
    (b"\x00asm", "WebAssembly program"),
)
_RIFF_KINDS = {b"WEBP": "WebP image", b"WAVE": "WAV audio", b"AVI ": "AVI video"}

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# C0 control bytes that text does not contain (tab, newlines, form feed and ESC it may), plus DEL;
# and the five bytes cp1252 leaves undefined. translate(None, _ALL_EXCEPT[...]) deletes every
# other byte, so its length counts the suspicious ones without copying the file.
_SUSPICIOUS_BYTES = bytes([*range(1, 9), 0x0E, *range(0x10, 0x1B), *range(0x1C, 0x20), 0x7F])
_CP1252_UNDEFINED = bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D])
_ALL_EXCEPT = {
    name: bytes(b for b in range(256) if b not in chars)
    for name, chars in (("c0", _SUSPICIOUS_BYTES), ("cp1252", _CP1252_UNDEFINED))
}
_NOT_TEXT = "not UTF-8, UTF-16 or Latin-1/cp1252 text"


def _binary_kind(head: bytes) -> str | None:
    """The kind of a well-known binary format from its first bytes, else None."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"RIFF") and head[8:12] in _RIFF_KINDS:
        return _RIFF_KINDS[head[8:12]]
    if head[4:8] == b"ftyp":
        return "MP4/MOV/HEIC media"
    return None


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' if the NUL bytes sit in every other position, else None."""
    sample = data[:4096]
    half = len(sample) // 2
    if half < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _decode(data: bytes, declared: str | None = None) -> str:
    """Bytes to text: UTF-8/16/32 by BOM, UTF-8, ``declared``, then cp1252 if it looks like text.

    Raises _Unreadable with a specific reason for empty, binary and undecodable input.
    """
    if not data:
        raise _Unreadable("empty file")
    kind = _binary_kind(data[:16])
    if kind:
        raise _Unreadable(f"binary file ({kind}), not text")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as error:
                name = codec.upper().removesuffix("-SIG")
                raise _Unreadable(
                    f"starts with a {name} byte-order mark but is not valid {name} "
                    f"(bad bytes at offset {error.start})"
                ) from None
    nuls = data.count(0)
    if nuls:
        codec = _utf16_without_bom(data)
        if codec:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                raise _Unreadable(f"binary file (NUL bytes), {_NOT_TEXT}") from None
        # A few stray NULs are tolerated (they are removed later); many mean binary data.
        if nuls > max(8, len(data) // 1000):
            raise _Unreadable("binary file (contains many NUL bytes), not text")
    suspicious = len(data.translate(None, _ALL_EXCEPT["c0"]))
    if suspicious > max(8, len(data) // 200):
        raise _Unreadable(f"{_NOT_TEXT} (too many control characters)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    # Latin-1 text has few bytes above 0x7F (umlauts, quotes); random binary data has ~half.
    high = len(data) - len(data.translate(None, bytes(range(0x80, 0x100))))
    if high > len(data) * 0.3 or len(data.translate(None, _ALL_EXCEPT["cp1252"])) > 8:
        raise _Unreadable(_NOT_TEXT)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# \r\n and lone \r become \n; other line/paragraph separators too, since a newline is the only
# paragraph boundary the chunker knows. NUL and other control characters are removed.
_NEWLINES = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufeff]")
# `in` is a memchr-speed scan, ~10x faster than a regex search of a 50 MB text with nothing to do.
_NEWLINE_CHARS = "\r\x0b\x0c\x85\u2028\u2029"
_CONTROL_CHARS = "".join(map(chr, [*range(0, 9), *range(0x0E, 0x20), 0x7F, 0xFEFF]))


def normalise_text(text: str) -> str:
    """Newlines to ``\\n``, NUL and other control characters removed; nothing else changes.

    Usage: ``normalise_text("Titel\\r\\nText\\x00")  # -> "Titel\\nText"``
    """
    if any(char in text for char in _NEWLINE_CHARS):
        text = _NEWLINES.sub("\n", text)
    if any(char in text for char in _CONTROL_CHARS):
        text = _CONTROLS.sub("", text)
    return text


def _require_text(text: str) -> str:
    if not text or text.isspace():  # not strip(): that would copy a 50 MB text
        raise _Unreadable("empty file (only whitespace)")
    return text


# --------------------------------------------------------------------------------------------
# Titles
# --------------------------------------------------------------------------------------------

# The first sentence of a long first line: a lowercase word ending in . ! or ? followed by a
# capitalised word. Requiring 3 lowercase letters before the stop avoids "z. B." and "Dr.".
_FIRST_SENTENCE = re.compile(
    r"^(.{20,200}?[a-zäöüß]{3}[.!?][\"'”“»«]?)\s+[\"„“«»]?[A-ZÄÖÜ0-9]"
)


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


def _first_line(text: str) -> str:
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


# --------------------------------------------------------------------------------------------
# .txt
# --------------------------------------------------------------------------------------------


def _parse_txt(data: bytes, source: str, stem: str) -> Article:
    text = _require_text(normalise_text(_decode(data)))
    del data  # free the raw bytes before the caller holds the text (large files)
    return Article(source=source, title=title_from_line(_first_line(text)) or stem, text=text)


# --------------------------------------------------------------------------------------------
# .md
# --------------------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_FIELD = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", re.MULTILINE)
_MD_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Comments and scripts can hide text (e.g. instructions to the LLM) that a reader never sees.
    (re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL), ""),
    (re.compile(r"<(script|style|template)\b.*?(?:</\1\s*>|\Z)", re.DOTALL | re.IGNORECASE), ""),
    (re.compile(r"^[ \t]{0,3}(```|~~~).*$", re.MULTILINE), ""),
    # Images: ![alt](url) and ![alt][ref]. A URL may contain one level of parentheses.
    (re.compile(r"!\[[^\]\n]*\](?:\((?:[^()\n]|\([^()\n]*\))*\)|\[[^\]\n]*\])"), ""),
    # Links keep their text: [text](url "title") and [text][ref].
    (re.compile(r"\[([^\]\n]+)\]\((?:[^()\n]|\([^()\n]*\))*\)"), r"\1"),
    (re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]"), r"\1"),
    (re.compile(r"^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S+.*$", re.MULTILINE), ""),
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>\n]*)?/?>"), ""),
    # ATX headings lose their #s, setext underlines and rules disappear.
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE), r"\1"),
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]*$", re.MULTILINE), ""),
    (re.compile(r"^[ \t]{0,3}(?:=+|-{2,}|\*{3,}|_{3,})[ \t]*$", re.MULTILINE), ""),
    (re.compile(r"^[ \t]{0,3}>[ \t]?", re.MULTILINE), ""),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<=\S) {2,}(?=\S)"), " "),  # left behind by removed images and tags
    (re.compile(r"[ \t]+$", re.MULTILINE), ""),
    (re.compile(r"\n{3,}"), "\n\n"),
)
_MD_H1 = re.compile(r"^[ \t]{0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)


def _parse_markdown(data: bytes, source: str, stem: str) -> Article:
    raw = _require_text(normalise_text(_decode(data)))
    del data
    meta: dict[str, str] = {}
    front = _FRONT_MATTER.match(raw)
    if front:
        for key, value in _FRONT_FIELD.findall(front.group(1)):
            meta[key.lower()] = value.strip().strip("\"'")
        raw = raw[front.end():]
    heading = _MD_H1.search(raw)
    text = raw
    for pattern, replacement in _MD_RULES:
        text = pattern.sub(replacement, text)
    text = text.strip("\n")
    if not text or text.isspace():
        raise _Unreadable("Markdown without text (nothing left outside comments, code and markup)")
    title = meta.get("title") or (_clean_inline_md(heading.group(1)) if heading else "")
    return Article(
        source=source,
        title=title_from_line(title or _first_line(text)) or stem,
        text=text,
        url=meta.get("url") or meta.get("canonical_url") or meta.get("link") or None,
        date=meta.get("date") or meta.get("published") or None,
    )


def _clean_inline_md(line: str) -> str:
    for pattern, replacement in _MD_RULES:
        line = pattern.sub(replacement, line)
    return line.strip()


# --------------------------------------------------------------------------------------------
# .html / .htm
# --------------------------------------------------------------------------------------------

# Never article text: code, chrome around the article, and interactive widgets.
_DROP_TAGS = (
    "script", "style", "noscript", "template", "nav", "footer", "header", "aside", "form",
    "head", "iframe", "svg", "math", "canvas", "object", "embed", "audio", "video", "button",
    "select", "dialog",
)
_BLOCK_TAGS = frozenset(
    "address article blockquote body caption dd details div dl dt fieldset figcaption figure "
    "h1 h2 h3 h4 h5 h6 hgroup hr li main ol p pre section summary table tbody tfoot thead tr ul "
    "br".split()
)
_CELL_TAGS = frozenset({"td", "th"})
# Paragraph break marker while gathering strings; U+2029 is the Unicode paragraph separator.
_PARA = "\u2029"
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def _parse_html(data: bytes, source: str, stem: str) -> Article:
    declared = _META_CHARSET.search(data[:4096])
    charset = declared.group(1).decode("ascii") if declared else None
    html = _require_text(normalise_text(_decode(data, charset)))
    del data
    soup = BeautifulSoup(html, "html.parser")
    del html
    url = _canonical_url(soup)
    date = _published_date(soup)
    root = _main_container(soup)
    title = _html_title(soup, root)
    _drop_invisible(soup)
    text = _block_text(root)
    if not text and root is not soup:
        text = _block_text(soup)
    if not text.strip():
        raise _Unreadable(
            "HTML without text (nothing readable outside scripts, menus and comments)"
        )
    title = title or title_from_line(_first_line(text)) or stem
    # The headline usually sits in a <header> that was dropped with the page chrome; put it back
    # as the first line so the text reads like a .txt article.
    if not text.startswith(title):
        text = f"{title}\n{text}"
    return Article(source=source, title=title, text=text, url=url, date=date)


def _collapse(value: object) -> str:
    return " ".join(str(value).split()) if value else ""


def _meta_content(soup: BeautifulSoup, *keys: str) -> str:
    for key in keys:
        for attr in ("property", "name", "itemprop"):
            tag = soup.find("meta", attrs={attr: key})
            if isinstance(tag, Tag) and _collapse(tag.get("content")):
                return _collapse(tag.get("content"))
    return ""


def _canonical_url(soup: BeautifulSoup) -> str | None:
    for link in soup.find_all("link", href=True):
        rel = link.get("rel") or []
        rels = rel if isinstance(rel, list) else str(rel).split()
        if "canonical" in (r.lower() for r in rels):
            return _collapse(link["href"]) or None
    return _meta_content(soup, "og:url") or None


def _published_date(soup: BeautifulSoup) -> str | None:
    found = _meta_content(
        soup, "article:published_time", "datePublished", "date", "pubdate", "publishdate", "dc.date"
    )
    if found:
        return found
    time = soup.find("time", attrs={"datetime": True})
    return (_collapse(time["datetime"]) or None) if isinstance(time, Tag) else None


def _main_container(soup: BeautifulSoup) -> Tag:
    """The element holding the article: the longest <article>, else <main>, else <body>."""
    articles = soup.find_all("article")
    if articles:
        return max(articles, key=lambda tag: len(tag.get_text()))
    for name in ("main", "body"):
        tag = soup.find(name)
        if isinstance(tag, Tag):
            return tag
    return soup


def _html_title(soup: BeautifulSoup, root: Tag) -> str:
    # <h1> in the article first: <title> usually carries a " | Site name" suffix.
    candidates = (
        root.find("h1"),
        soup.find("meta", attrs={"property": "og:title"}),
        soup.find("title"),
        soup.find("h1"),
    )
    for candidate in candidates:
        if not isinstance(candidate, Tag):
            continue
        raw = candidate.get("content") if candidate.name == "meta" else candidate.get_text(" ")
        text = _collapse(raw)
        if text:
            return title_from_line(text)
    return ""


def _drop_invisible(soup: BeautifulSoup) -> None:
    """Remove chrome, code and hidden elements; hidden text may carry injected instructions."""
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    hidden = [
        tag
        for tag in soup.find_all(True)
        if tag.has_attr("hidden")
        or str(tag.get("aria-hidden", "")).lower() == "true"
        or _HIDDEN_STYLE.search(str(tag.get("style", "")))
    ]
    for tag in hidden:
        if not tag.decomposed:
            tag.decompose()


def _block_text(root: Tag) -> str:
    """Visible text under ``root``: one line per block element, whitespace collapsed."""
    for tag in root.find_all(_BLOCK_TAGS | _CELL_TAGS):
        gap = " " if tag.name in _CELL_TAGS else _PARA
        tag.insert_before(gap)
        tag.insert_after(gap)
    # Only plain strings: Comment, CData, Doctype, Declaration and script/style strings are
    # subclasses and are skipped, so comments never reach the text.
    pieces = [s for s in root.descendants if type(s) is NavigableString]
    paragraphs = (" ".join(p.split()) for p in "".join(pieces).split(_PARA))
    return "\n".join(p for p in paragraphs if p)


# --------------------------------------------------------------------------------------------
# .jsonl
# --------------------------------------------------------------------------------------------


# After this many bad lines and no good one, the file is reported once instead of line by line.
_JSONL_GIVE_UP = 20


def _load_jsonl(path: Path, source: str) -> tuple[list[Article], list[Skipped]]:
    articles: list[Article] = []
    skipped: list[Skipped] = []
    seen_ids: dict[str, int] = {}
    any_line = False
    try:
        _require_regular_file(path)
        with path.open("rb") as handle:
            head = handle.read(16)
            kind = _binary_kind(head)
            if kind:
                raise _Unreadable(f"binary file ({kind}), not text")
            handle.seek(0)
            # Line by line so a huge feed never sits in memory twice.
            for line_no, raw in enumerate(handle, start=1):
                if line_no == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8):]
                if not raw.strip():
                    continue
                any_line = True
                try:
                    article = _jsonl_article(raw, line_no, source, seen_ids)
                except _Unreadable as problem:
                    skipped.append(Skipped(str(path), str(problem)))
                    if len(skipped) >= _JSONL_GIVE_UP and not articles:
                        raise _Unreadable(
                            f"not a JSON Lines file: the first {_JSONL_GIVE_UP} non-empty "
                            f"lines are all invalid (first problem: {skipped[0].reason})"
                        ) from None
                else:
                    articles.append(article)
    except FileNotFoundError:
        return [], [Skipped(str(path), "no such file (it may have been moved or deleted)")]
    except PermissionError:
        return [], [Skipped(str(path), "permission denied")]
    except _Unreadable as problem:
        return [], [Skipped(str(path), str(problem))]
    except OSError as error:
        return [], [Skipped(str(path), f"could not be read: {error.strerror or error}")]
    if not any_line:
        skipped.append(Skipped(str(path), "empty file"))
    return articles, skipped


def _jsonl_article(raw: bytes, line_no: int, source: str, seen_ids: dict[str, int]) -> Article:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Unreadable(f"line {line_no} is not UTF-8 text (JSON Lines must be UTF-8)") from None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise _Unreadable(
            f"invalid JSON on line {line_no}: {error.msg} (column {error.colno})"
        ) from None
    if not isinstance(record, dict):
        raise _Unreadable(f"line {line_no} is a JSON {type(record).__name__}, not an object")
    if "text" not in record or record["text"] is None:
        raise _Unreadable(f"missing 'text' on line {line_no}")
    if not isinstance(record["text"], str):
        kind = type(record["text"]).__name__
        raise _Unreadable(f"'text' on line {line_no} is a {kind}, not a string")
    text = normalise_text(record["text"])
    if not text.strip():
        raise _Unreadable(f"empty 'text' on line {line_no}")
    # A stable id keeps the article's identity when lines are inserted above it.
    ident = record.get("id")
    if isinstance(ident, (str, int)) and not isinstance(ident, bool) and str(ident).strip():
        key = str(ident).strip()
        if key in seen_ids:
            raise _Unreadable(
                f"duplicate id {key!r} on line {line_no} (first used on line {seen_ids[key]})"
            )
        seen_ids[key] = line_no
        line_source = f"{source}#id={key}"
    else:
        line_source = f"{source}#{line_no}"
    title = _optional_str(record.get("title"))
    return Article(
        source=line_source,
        title=title_from_line(title or _first_line(text)),
        text=text,
        url=_optional_str(record.get("url")),
        date=_optional_str(record.get("date")),
    )


def _optional_str(value: object) -> str | None:
    """Strings and numbers as stripped text; anything else (null, lists, objects) as None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return " ".join(str(value).split()) or None

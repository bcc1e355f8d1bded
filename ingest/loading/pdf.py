""".pdf articles: the text layer, reflowed into paragraphs, pages joined so sentences run across them.

pypdf reads the text layer: pure Python, actively maintained, and it reads what news PDFs need (text,
document information, the standard encryption); pdfminer.six lays text out more exactly but is
several times slower and newsqa needs paragraphs, not positions. A PDF's text layer is made of
layout lines, and the sentence splitter ends a sentence at a line break, so lines are joined back into
paragraphs here: a line that fills the column, or that stops mid-sentence, continues on the next one
("Bundes-" + "regierung" becomes "Bundesregierung"). A page break is joined the same way, so the
sentence a reader reads across it stays one sentence. Where each page starts in the text is kept
(``Article.part_starts``), so a passage is cited with its page.

Usage::

    from ingest.loading import pdf
    article = pdf.parse(Path("a.pdf").read_bytes(), source="/abs/a.pdf", stem="a")
"""

from __future__ import annotations

import logging
import re
from io import BytesIO

from ingest.loading.decoding import normalise_text
from ingest.loading.model import Article, Unreadable
from ingest.loading.titles import first_line, title_from_line

# A line this share of the page's usual line length or longer was wrapped by the layout.
_FULL_LINE = 0.75
# A line shorter than this share without a final stop, after a finished sentence, is a sub-heading.
_HEADING = 0.6
# Sentence ends (and closing quotes after them): a line ending so, short of the column, ends a paragraph.
_ENDS_SENTENCE = re.compile(r"[.!?…:;][\"'”“»«)]*$")
_PAGE_NUMBER = re.compile(r"^\W*(?:seite|page|s\.)?\s*\d{1,4}(?:\s*(?:/|von|of)\s*\d{1,4})?\W*$", re.IGNORECASE)
# Titles PDF writers put in the information dictionary on their own; never the article's headline.
_GENERATED_TITLE = re.compile(r"^(?:untitled|unbenannt|microsoft word - .*|.*\.(?:docx?|odt|pdf|indd|tex))$", re.I)


def parse(data: bytes, source: str, stem: str) -> Article:
    """One article from a PDF's text layer; title from its metadata, else its first line.

    Usage: ``article = parse(Path("a.pdf").read_bytes(), "/abs/a.pdf", "a")``

    Raises :class:`Unreadable` for an empty, damaged or password-protected file and for a PDF
    without a text layer (a scan: it would need OCR).
    """
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError, PyPdfError

    if not data:
        raise Unreadable("empty file")
    # pypdf logs every repaired cross-reference table; a damaged file is reported once, by us.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not _opens_without_password(reader):
            raise Unreadable("encrypted PDF: it needs a password to open (save an unprotected copy)")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except DependencyError:
        raise Unreadable("encrypted PDF (AES): newsqa cannot decrypt it (save an unprotected copy)") from None
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise Unreadable(f"damaged PDF, cannot be read: {_short(error)}") from None
    del data
    if not pages:
        raise Unreadable("PDF without pages")
    text, page_starts = join_pages([normalise_text(page) for page in pages])
    if not text:
        raise Unreadable(f"scanned PDF without text: none of its {len(pages)} page(s) has a text layer (needs OCR)")
    title = _info_title(info) or title_from_line(first_line(text)) or stem
    # No date: /CreationDate is when the file was made (a browser's print, a scan), not published.
    return Article(
        source=source,
        title=title,
        text=text,
        part_starts=page_starts,
        part_kind="page",
    )


def _opens_without_password(reader) -> bool:
    from pypdf import PasswordType

    # Many "protected" PDFs only forbid printing or copying: an empty user password opens them.
    return reader.decrypt("") != PasswordType.NOT_DECRYPTED


def _short(error: Exception) -> str:
    message = " ".join(str(error).split()) or type(error).__name__
    return message if len(message) <= 120 else message[:117] + "..."


def join_pages(pages: list[str]) -> tuple[str, tuple[int, ...]]:
    """The pages' lines reflowed into paragraphs, and where each page starts in the result.

    Usage: ``join_pages(["Der Rat tagte am", "Montag in Wien."])  # -> ("Der Rat tagte am Montag in Wien.", (0, 17))``

    Page numbers alone on a line at the top or bottom of a page are dropped. A page's first line
    continues the previous page's last one unless that ended a sentence. An empty page starts where
    the next text does.
    """
    out: list[str] = []
    length = 0
    starts: list[int | None] = []
    previous = ""  # the last line written, to decide how the next one joins it
    paged = [_page_lines(page) for page in pages]
    widths = sorted(len(line) for lines in paged for line in lines if line)
    # The usual full line: a high percentile, so one long URL does not raise it (the longest line of
    # a short text).
    width = widths[int(0.9 * (len(widths) - 1))] if len(widths) >= 10 else max(widths, default=0)
    for lines in paged:
        page_start: int | None = None
        blank = False
        for line in lines:
            if not line:
                blank = True
                continue
            if out:
                if blank:
                    joiner = "\n"
                elif page_start is None and not _ENDS_SENTENCE.search(previous):
                    joiner = _joiner(previous, line, width) if previous.endswith("-") else " "
                else:
                    joiner = _joiner(previous, line, width)
                if joiner == "-":  # a word hyphenated at the line end: drop the hyphen, join the halves
                    out[-1] = out[-1][:-1]
                    length -= 1
                    joiner = ""
                out.append(joiner)
                length += len(joiner)
            if page_start is None:
                page_start = length
            out.append(line)
            length += len(line)
            previous, blank = line, False
        starts.append(page_start)
    following = length
    for i in reversed(range(len(starts))):  # an empty page starts where the next text does
        following = starts[i] = following if starts[i] is None else starts[i]
    return "".join(out), tuple(starts)


def _page_lines(page: str) -> list[str]:
    """A page's lines, whitespace collapsed, without blank lines and page numbers at its top and bottom."""
    lines = [" ".join(line.split()) for line in page.split("\n")]
    while lines and (not lines[-1] or _PAGE_NUMBER.match(lines[-1])):
        lines.pop()
    while lines and (not lines[0] or _PAGE_NUMBER.match(lines[0])):
        lines.pop(0)
    return lines


def _joiner(previous: str, line: str, width: int) -> str:
    """How ``line`` follows ``previous``: ``" "`` (same paragraph), ``"-"`` (hyphenated word) or ``"\\n"``."""
    if len(previous) > 1 and previous.endswith("-") and previous[-2].isalpha() and line[0].islower():
        return "-"
    ends_sentence = _ENDS_SENTENCE.search(previous)
    if ends_sentence and len(line) < _HEADING * width and not _ENDS_SENTENCE.search(line):
        return "\n"  # a sub-heading after a paragraph
    if len(previous) >= _FULL_LINE * width and not previous.endswith(":"):
        return " "
    if not ends_sentence and line[0].islower():
        return " "
    return "\n"


def _info_title(info) -> str:
    title = " ".join(str(getattr(info, "title", None) or "").split()) if info else ""
    if not title or _GENERATED_TITLE.match(title):
        return ""
    return title_from_line(title)

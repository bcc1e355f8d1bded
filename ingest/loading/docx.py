""".docx articles: body paragraphs, headings and table rows in order, one per line; hidden text left out.

python-docx reads the WordprocessingML package (pure Python over lxml, well kept, the library for
DOCX). A paragraph becomes one line of ``Article.text`` and where each begins is kept
(``Article.part_starts``), so a passage is cited with its paragraph. Text formatted as hidden (Word's
"hidden" font attribute, on a run or its style) is dropped, as hidden HTML is: a reader never sees it,
and it may carry instructions meant for the model.

Usage::

    from ingest.loading import docx
    article = docx.parse(Path("a.docx").read_bytes(), source="/abs/a.docx", stem="a")
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from io import BytesIO
from typing import TYPE_CHECKING

from ingest.loading.decoding import binary_kind, normalise_text
from ingest.loading.model import Article, Unreadable
from ingest.loading.titles import title_from_line

if TYPE_CHECKING:
    from docx.document import Document
    from docx.text.paragraph import Paragraph

_TITLE_STYLES = ("Title", "Heading 1")


def parse(data: bytes, source: str, stem: str) -> Article:
    """One article from a Word document; title from its properties, else its first heading or line.

    Usage: ``article = parse(Path("a.docx").read_bytes(), "/abs/a.docx", "a")``

    Raises :class:`Unreadable` for an empty, damaged, password-protected or old-format (.doc)
    file and for a document without visible text.
    """
    import docx
    from docx.opc.exceptions import OpcError

    if not data:
        raise Unreadable("empty file")
    if binary_kind(data[:16]) == "old Microsoft Office document":
        # Word stores a password-protected .docx in the same OLE container as an old .doc.
        raise Unreadable("password-protected or old-format Word document (.doc), not a DOCX: save it as a .docx")
    if not data.startswith(b"PK"):
        raise Unreadable("damaged DOCX: not a ZIP package (a DOCX is one)")
    try:
        document = docx.Document(BytesIO(data))
        del data
        lines = list(_lines(document))
        title = " ".join((document.core_properties.title or "").split())
    except (zipfile.BadZipFile, OpcError, KeyError, ValueError, EOFError) as error:
        raise Unreadable(f"damaged DOCX, cannot be read: {_short(error)}") from None
    paragraphs = [(style, text) for style, text in lines if text]
    if not paragraphs:
        raise Unreadable("DOCX without text (no visible paragraph)")
    starts: list[int] = []
    offset = 0
    for _, text in paragraphs:
        starts.append(offset)
        offset += len(text) + 1
    heading = next((text for style, text in paragraphs if style in _TITLE_STYLES), "")
    return Article(
        source=source,
        title=title_from_line(title or heading or paragraphs[0][1]) or stem,
        text="\n".join(text for _, text in paragraphs),
        part_starts=tuple(starts),
        part_kind="paragraph",
    )


def _short(error: Exception) -> str:
    message = " ".join(str(error).split()) or type(error).__name__
    return message if len(message) <= 120 else message[:117] + "..."


def _lines(document: Document) -> Iterator[tuple[str, str]]:
    """``(style name, visible text)`` of each body paragraph and table row, in document order."""
    from docx.table import Table

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:
                    text = " ".join(_visible(p) for p in cell.paragraphs).strip()
                    if text and (not cells or cells[-1] != text):  # merged cells repeat
                        cells.append(text)
                yield "Table", " | ".join(cells)
        else:
            yield (block.style.name if block.style is not None else ""), _visible(block)


def _visible(paragraph: Paragraph) -> str:
    """The paragraph's text without hidden runs, whitespace collapsed to single spaces."""
    from docx.text.run import Run

    if _hidden(paragraph.style):
        return ""
    pieces = []
    for item in paragraph.iter_inner_content():
        runs = [item] if isinstance(item, Run) else item.runs
        pieces.extend(run.text for run in runs if not run.font.hidden and not _hidden(run.style))
    return " ".join(normalise_text("".join(pieces)).split())


def _hidden(style) -> bool:
    """Whether a paragraph or character style (or a style it is based on) hides its text."""
    while style is not None:
        font = getattr(style, "font", None)
        if font is not None and font.hidden is not None:
            return bool(font.hidden)
        style = style.base_style
    return False

"""Builders of real PDF and DOCX files for the tests (pypdf and python-docx write them).

Usage::

    from tests.ingest.documents import docx_bytes, pdf_bytes
    path.write_bytes(pdf_bytes([["Schlagzeile", "Erster Satz."], ["Seite zwei."]], title="Titel"))
    path.write_bytes(docx_bytes([("Title", "Schlagzeile"), ("Normal", "Erster Absatz.")]))
"""

from __future__ import annotations

from io import BytesIO


def _pdf_string(line: str) -> bytes:
    raw = line.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def pdf_bytes(
    pages: list[list[str]],
    *,
    title: str | None = None,
    user_password: str | None = None,
    owner_password: str | None = None,
) -> bytes:
    """A PDF whose pages show ``pages``' lines in Helvetica (one text line each; ``[]`` is a page without text).

    ``user_password`` encrypts it so that it needs that password; ``owner_password`` alone encrypts it
    with an empty user password (opens without one, like most "protected" PDFs).
    """
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )
    for lines in pages:
        page = writer.add_blank_page(595, 842)
        if not lines:
            continue
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        body = b" T* ".join(_pdf_string(line) + b" Tj" for line in lines)
        stream = DecodedStreamObject()
        stream.set_data(b"BT /F1 10 Tf 14 TL 56 780 Td " + body + b" ET")
        page[NameObject("/Contents")] = writer._add_object(stream)
    if title is not None:
        writer.add_metadata({"/Title": title})
    if user_password is not None or owner_password is not None:
        writer.encrypt(user_password or "", owner_password, algorithm="RC4-128")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(paragraphs: list[tuple[str, str]], *, title: str | None = None, hidden: str | None = None) -> bytes:
    """A DOCX of ``(style, text)`` paragraphs (styles: "Title", "Heading 1", "Normal", ...).

    ``title`` sets the core properties' title; ``hidden`` adds a run of hidden text (Word's "hidden"
    font attribute) to the last paragraph.
    """
    import docx

    document = docx.Document()
    for style, text in paragraphs:
        document.add_paragraph(text, style=style)
    if hidden is not None:
        document.paragraphs[-1].add_run(hidden).font.hidden = True
    if title is not None:
        document.core_properties.title = title
    out = BytesIO()
    document.save(out)
    return out.getvalue()

"""ingest.loading.pdf on real PDFs written by pypdf in the test: text layer, pages, title, bad files."""

from __future__ import annotations

import random
from pathlib import Path

from ingest.loading import load_file
from ingest.loading.pdf import join_pages
from tests.ingest.documents import pdf_bytes

# Lines as a layout wraps them: full lines, a word hyphenated at a line end, a sentence across the page break.
PAGE_ONE = [
    "Nordkorea schickt Soldaten nach Russland",
    "",
    "Westliche Geheimdienste sprechen von 10.000 bis 12.000 nordkoreanischen Soldaten, die",
    "seit Oktober in der Region Kursk eingesetzt werden. Die Bundesregierung in Berlin sprach",
    "von einer gefährlichen Eskalation. Auch das Verteidigungs-",
    "ministerium in Seoul bestätigte, dass die Truppen im Oktober per Schiff und Flugzeug nach",
    "1",
]
PAGE_TWO = [
    "2",
    "Wladiwostok gebracht worden seien. Die Ukraine meldet erste Gefechte mit den Einheiten.",
    "",
    "Reaktionen aus Washington",
    "Die USA sind alarmiert und kündigen weitere Hilfe für die Ukraine an.",
]


def load(path: Path):
    articles, skipped = load_file(path)
    return articles, [s.reason for s in skipped]


def test_pdf_text_is_reflowed_and_a_sentence_across_the_page_break_stays_one(tmp_path: Path) -> None:
    path = tmp_path / "soldaten.pdf"
    path.write_bytes(pdf_bytes([PAGE_ONE, PAGE_TWO], title="Soldaten für Russland"))
    [article], reasons = load(path)
    assert reasons == []
    assert article.title == "Soldaten für Russland"
    assert article.source == str(path.resolve())
    text = article.text
    assert text.startswith("Nordkorea schickt Soldaten nach Russland\nWestliche Geheimdienste")
    # layout lines joined, the hyphenated word whole, page numbers gone
    assert "Soldaten, die seit Oktober" in text
    assert "Verteidigungsministerium in Seoul" in text
    assert "\n1" not in text and "2\n" not in text
    assert "Schiff und Flugzeug nach Wladiwostok gebracht worden seien." in text
    assert "\nReaktionen aus Washington\nDie USA sind alarmiert" in text
    # page two starts where its first line does, and passages there are cited with page 2
    assert article.part_kind == "page" and len(article.part_starts) == 2
    assert text[article.part_starts[1] :].startswith("Wladiwostok gebracht")
    assert article.part_at(text.index("Die USA")) == 2 and article.part_at(0) == 1


def test_pdf_title_falls_back_to_the_first_line_when_metadata_has_none_or_a_generated_one(tmp_path: Path) -> None:
    for name, title in (("ohne.pdf", None), ("word.pdf", "Microsoft Word - entwurf3.docx")):
        path = tmp_path / name
        path.write_bytes(pdf_bytes([PAGE_ONE], title=title))
        [article], _ = load(path)
        assert article.title == "Nordkorea schickt Soldaten nach Russland"


def test_pdf_protected_only_against_editing_opens_without_a_password(tmp_path: Path) -> None:
    path = tmp_path / "geschuetzt.pdf"
    path.write_bytes(pdf_bytes([PAGE_ONE], owner_password="redaktion"))
    [article], reasons = load(path)
    assert reasons == [] and "Region Kursk" in article.text


def test_encrypted_pdf_is_skipped_as_needing_a_password(tmp_path: Path) -> None:
    path = tmp_path / "verschluesselt.pdf"
    path.write_bytes(pdf_bytes([PAGE_ONE], user_password="geheim"))
    assert load(path) == ([], ["encrypted PDF: it needs a password to open (save an unprotected copy)"])


def test_pdf_without_a_text_layer_is_reported_as_a_scan_not_ingested_empty(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(pdf_bytes([[], []]))
    assert load(path) == ([], ["scanned PDF without text: none of its 2 page(s) has a text layer (needs OCR)"])


def test_damaged_truncated_and_empty_pdfs_are_skipped_with_their_reason(tmp_path: Path) -> None:
    good = pdf_bytes([PAGE_ONE])
    cases = {
        "kaputt.pdf": b"%PDF-1.7\n" + random.Random(1).randbytes(2000),
        "halb.pdf": good[: len(good) // 3],
        "kein.pdf": b"Das ist gar kein PDF, nur Text mit falscher Endung.",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        articles, reasons = load(path)
        assert articles == [] and len(reasons) == 1 and reasons[0].startswith("damaged PDF, cannot be read: "), (
            name,
            reasons,
        )
    (tmp_path / "leer.pdf").write_bytes(b"")
    assert load(tmp_path / "leer.pdf") == ([], ["empty file"])


def test_join_pages_keeps_paragraphs_and_headings_apart() -> None:
    text, starts = join_pages(
        [
            "Schlagzeile\n\nEin langer Satz, der über die ganze Breite der Spalte läuft und\nweitergeht.\nZwischentitel\nNeuer Absatz.",
            "",
            "3\nLetzte Seite.",
        ]
    )
    assert text == (
        "Schlagzeile\nEin langer Satz, der über die ganze Breite der Spalte läuft und weitergeht.\n"
        "Zwischentitel\nNeuer Absatz.\nLetzte Seite."
    )
    assert starts == (0, text.index("Letzte"), text.index("Letzte"))

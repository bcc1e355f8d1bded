"""The ingestion report's lines: what `newsqa ingest`, `newsqa chat` and the chat's uploads show."""

from __future__ import annotations

import os

from ingest.loading import Skipped
from ingest.report import IngestReport, report_lines


def test_every_skipped_and_unread_file_has_a_line_before_the_summary():
    report = IngestReport(
        files=2,
        articles=1,
        chunks=3,
        added=3,
        skipped=[Skipped("/news/scan.pdf", "scanned PDF without text")],
        unread=[Skipped("/news/bild.png", "PNG image (.png)")],
        seconds=1.25,
    )
    assert report_lines(report) == [
        "skipped /news/scan.pdf: scanned PDF without text",
        "not read /news/bild.png: PNG image (.png), not an article type",
        "Ingested 1 article(s) from 2 file(s) in 1.2 s: 3 chunks, 3 added, 0 unchanged, 0 deleted; "
        "1 file(s) skipped; 1 file(s) of other types not read (.png).",
    ]
    # the chat's uploads: the same lines with file names instead of the server's paths
    assert report_lines(report, names_only=True)[:2] == [
        "skipped scan.pdf: scanned PDF without text",
        "not read bild.png: PNG image (.png), not an article type",
    ]


def test_a_name_that_is_not_utf8_is_shown_with_escapes():
    name = os.fsdecode(b"/news/Stra\xdfe.txt")  # a Latin-1 file name, as the file system hands it over
    [line, _] = report_lines(IngestReport(skipped=[Skipped(name, "file name is not valid UTF-8")]))
    assert line == "skipped /news/Stra\\xdfe.txt: file name is not valid UTF-8"

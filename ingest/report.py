"""What one ingestion did: the lines a user reads and the exit status (no heavy imports).

Usage::

    report = IngestReport(files=3, articles=3, chunks=20, added=20)
    print("\n".join(report_lines(report))); sys.exit(report.exit_code)   # as `newsqa ingest` does
    report_lines(report, names_only=True)   # the chat's upload summary: file names, not server paths
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.loading import Skipped


@dataclass
class IngestReport:
    """What one ingestion did, for the summary line and the exit status."""

    files: int = 0
    articles: int = 0
    chunks: int = 0  # passages
    sentences: int = 0  # sentence records beside them (settings.sentence_vectors)
    added: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    #: Files of types newsqa does not read, found in the ingested folders; ``reason`` is their type.
    unread: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def records(self) -> int:
        """Everything this ingestion indexed: passages and sentence records (what added/unchanged count)."""
        return self.chunks + self.sentences

    @property
    def exit_code(self) -> int:
        """0 when everything was ingested, 3 when it completed but skipped files.

        Files of other types (``unread``) are named but do not change the status: a photo beside
        the articles is not a failed article.
        """
        return 3 if self.skipped else 0

    def summary(self) -> str:
        files = f"{len({s.path for s in self.skipped})} file(s) skipped" if self.skipped else "no files skipped"
        if self.unread:
            types = sorted({Path(u.path).suffix.lower() or "no suffix" for u in self.unread})
            files += f"; {len(self.unread)} file(s) of other types not read ({', '.join(types)})"
        return (
            f"Ingested {self.articles} article(s) from {self.files} file(s) in {self.seconds:.1f} s: "
            f"{self.chunks} chunks{f' (+{self.sentences} sentences)' if self.sentences else ''}, {self.added} added, {self.unchanged} unchanged, "
            f"{self.deleted} deleted; {files}."
        )


def shown_path(path: str) -> str:
    """A path for the terminal: bytes of a name that are not UTF-8 shown as ``\\xNN``.

    Usage: ``shown_path(os.fsdecode(b"Stra\\xdfe.txt"))  # -> "Stra\\xdfe.txt"``
    """
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def report_lines(report: IngestReport, *, names_only: bool = False) -> list[str]:
    """Every skipped and every unread file on a line of its own, then the summary: what a user reads
    after an ingestion, in the terminal (``newsqa ingest``, ``newsqa chat``) and in the chat.

    ``names_only`` shows file names instead of paths (the chat's uploads: a web user need not see
    where the server keeps them).

    Usage: ``report_lines(report)  # ["skipped a.pdf: scanned PDF without text", "Ingested 2 …"]``
    """

    def shown(path: str) -> str:
        return shown_path(Path(path).name if names_only else path)

    lines = [f"skipped {shown(s.path)}: {s.reason}" for s in report.skipped]
    lines += [f"not read {shown(u.path)}: {u.reason}, not an article type" for u in report.unread]
    return [*lines, report.summary()]

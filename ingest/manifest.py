"""The ingestion manifest: answer "nothing changed" without loading torch, Chroma or the tokenizer.

After every complete ingestion the index folder gets ``manifest.json``: per ingested set of paths,
each article file's ``(size, mtime_ns, sha256)`` with the articles and chunks it produced, plus a
fingerprint of the settings that shape chunks and vectors and the index generation (:func:`rag.store.mark_changed`)
at that moment. ``newsqa ingest`` checks it first: when every file is as recorded, the settings are
the same and no other ingestion has written since, the run ends in a fraction of a second. Anything
else — a changed, added or removed file, a skipped file, other settings, a Chroma server or shared
record database — takes the normal path, where LangChain's record manager decides, chunk by chunk,
what to embed. The manifest is only a shortcut in front of it, never the source of truth.

Only standard-library modules and :mod:`rag.settings` / :mod:`ingest.loading` are imported here.

Usage::

    report = unchanged_report([Path("corpus")], settings)     # an IngestReport, or None: ingest
    writer = ManifestWriter(settings, roots); writer.add(path, articles=1, chunks=7); writer.save()
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from ingest.loading import Skipped, discover
from ingest.report import IngestReport
from rag.models.cache import sha256_file
from rag.settings import Settings, index_settings

#: Bump when chunking or loading changes what chunks an unchanged file produces.
MANIFEST_VERSION = 2
MANIFEST_NAME = "manifest.json"

# (size, mtime_ns, sha256, articles, chunks) per file.
FileEntry = tuple[int, int, str, int, int, int]


def manifest_path(settings: Settings) -> Path:
    return settings.index_dir / MANIFEST_NAME


def fingerprint(settings: Settings) -> str:
    """A hash of every setting that changes which chunks (ids) a file produces, what their vectors are
    (:func:`rag.settings.index_settings`), or where they go."""
    parts = [
        MANIFEST_VERSION,
        index_settings(settings),
        settings.collection,
        str(settings.index_dir.resolve()),
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _generation(settings: Settings) -> str:
    # Same file as rag.store.marker's generation; read here without importing Chroma.
    try:
        return (settings.index_dir / "generation").read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def roots_key(roots: Sequence[Path]) -> str:
    """The manifest entry for one set of ingested paths (absolute, order-independent)."""
    return "\n".join(sorted(os.path.abspath(r) for r in roots))


def usable(settings: Settings) -> bool:
    """The shortcut applies to the embedded store only: a server's state is not in local files."""
    return not (settings.chroma_host or settings.record_db_url)


def _read(settings: Settings) -> dict:
    try:
        data = json.loads(manifest_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    ok = (
        isinstance(data, dict)
        and data.get("fingerprint") == fingerprint(settings)
        and data.get("generation") == _generation(settings)
        and isinstance(data.get("ingests"), dict)
    )
    return data if ok else {}


def forget(settings: Settings) -> None:
    """Drop the manifest: called before an ingestion writes, so a crash can never leave a stale one."""
    manifest_path(settings).unlink(missing_ok=True)


def _index_present(settings: Settings) -> bool:
    return (settings.index_dir / "chroma" / "chroma.sqlite3").is_file() and (
        settings.index_dir / "records.sqlite"
    ).is_file()


def unchanged_report(paths: Sequence[Path], settings: Settings) -> IngestReport | None:
    """The report of an ingestion that would change nothing, or ``None`` if it must really run.

    Usage: ``report = unchanged_report([Path("corpus")], settings) or ingest([Path("corpus")], settings)``
    """
    started = time.perf_counter()
    if not usable(settings) or not _index_present(settings):
        return None
    data = _read(settings)
    roots = [Path(os.path.abspath(p)) for p in paths]
    entry = data.get("ingests", {}).get(roots_key(roots)) if data else None
    if not isinstance(entry, dict):
        return None
    unread: list[Skipped] = []
    files, skipped = discover(roots, unread)
    if skipped or len(files) != len(entry):
        return None
    report = IngestReport(files=len(files), unread=unread)
    for path in files:
        recorded = entry.get(os.path.abspath(path))
        if not recorded or not _same(path, recorded):
            return None
        report.articles += recorded[3]
        report.chunks += recorded[4]
        report.sentences += recorded[5] if len(recorded) > 5 else 0
    report.unchanged = report.records
    report.seconds = time.perf_counter() - started
    return report


def _same(path: Path, recorded: Sequence) -> bool:
    try:
        stat = path.stat()
    except OSError:
        return False
    size, mtime_ns, sha256 = recorded[0], recorded[1], recorded[2]
    if stat.st_size != size:
        return False
    # Same size and modification time: the same file (what make and rsync trust too); a touched
    # file with the same bytes is still unchanged.
    return stat.st_mtime_ns == mtime_ns or sha256_file(path) == sha256


class ManifestWriter:
    """Collects what one ingestion read, file by file, and saves the manifest when it completed.

    Usage::

        writer = ManifestWriter(settings, roots)
        stamp = writer.stamp(path)              # before reading the file
        writer.add(path, stamp, articles=1, chunks=7)
        writer.save()                           # only after a complete run without skipped files
    """

    def __init__(self, settings: Settings, roots: Sequence[Path]) -> None:
        """
        Args:
            settings: where the index (and so the manifest) lives, and the chunking settings fingerprinted.
            roots: the files and folders this ingestion was asked for; a later run must ask for the same.
        """
        self.settings = settings
        self.key = roots_key(roots)
        self.files: dict[str, FileEntry] = {}

    @staticmethod
    def stamp(path: Path) -> tuple[int, int, str] | None:
        """The file's (size, mtime_ns, sha256), taken before it is read: a later edit shows as a change."""
        try:
            stat = path.stat()
            return stat.st_size, stat.st_mtime_ns, sha256_file(path)
        except OSError:
            return None

    def add(
        self, path: Path, stamp: tuple[int, int, str] | None, articles: int, chunks: int, sentences: int = 0
    ) -> None:
        if stamp is not None:
            self.files[os.path.abspath(path)] = (*stamp, articles, chunks, sentences)

    def save(self) -> None:
        if not usable(self.settings):
            return
        # One entry: the manifest was dropped when this ingestion started (see forget()).
        payload = {
            "version": MANIFEST_VERSION,
            "fingerprint": fingerprint(self.settings),
            "generation": _generation(self.settings),
            "ingests": {self.key: self.files},
        }
        path = manifest_path(self.settings)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, path)

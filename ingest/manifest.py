"""The ingestion manifest: answer "nothing changed" without loading torch, Chroma or the tokenizer.

After every complete ingestion the index folder gets ``manifest.json``: per ingested set of paths,
each article file's ``(size, mtime_ns, sha256)`` with the articles and chunks it produced, plus a
fingerprint of the settings that shape chunks and vectors and the index generation (:func:`rag.store.mark_changed`)
at that moment. ``newsqa ingest`` checks it first: when every file is as recorded, the settings are
the same and no other ingestion has written since, the run ends in a fraction of a second.

Otherwise :func:`plan` sorts the files: a file whose size and modification time are as recorded is
unchanged without being read; one whose size matches but not its time is unchanged if its sha256 is;
the rest are new or changed, and recorded files no longer found are removed. Ingestion then reads only
the new and changed files and deletes the removed ones' chunks (:mod:`ingest.indexing`). Other settings,
another writer since, a Chroma server or shared record database: no plan, every file goes through
LangChain's record manager, which decides chunk by chunk what to embed.

Crash safety: before an ingestion with a plan writes anything, it saves the manifest with every file
it is about to touch (new, changed, removed) marked :data:`PENDING`, so a run killed half-way leaves
a manifest that sends exactly those files through again; the unchanged entries stay true because
nothing touched them. Files that could not be read stay pending, so they are retried and reported on
every run.

Only standard-library modules and :mod:`rag.settings` / :mod:`ingest.loading` are imported here.

Usage::

    report = unchanged_report([Path("corpus")], settings)     # an IngestReport, or None: ingest
    work = plan(files, recorded_files(settings, roots))         # unchanged / to read / removed
    writer = ManifestWriter(settings, roots, work.unchanged); writer.begin(work.pending)
    writer.add(path, writer.stamp(path), articles=1, chunks=7); writer.save()
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.loading import Skipped, discover
from ingest.report import IngestReport
from rag.models.cache import sha256_file
from rag.settings import Settings, index_settings

#: Bump when chunking or loading changes what chunks an unchanged file produces.
MANIFEST_VERSION = 2
MANIFEST_NAME = "manifest.json"

# (size, mtime_ns, sha256, articles, chunks, sentences) per file.
FileEntry = tuple[int, int, str, int, int, int]

#: The size recorded for a file that must be read again: being ingested right now (a run killed
#: half-way leaves it so), removed but not yet deleted from the index, or not readable last time.
#: No file has it, so such an entry never matches.
PENDING = -1


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


def recorded_files(settings: Settings, roots: Sequence[Path]) -> dict[str, list] | None:
    """The manifest's files of the last ingestion of exactly these paths, or ``None`` when it cannot be
    trusted: no manifest, other settings, another write since, the index gone, or a Chroma server.

    Usage: ``recorded = recorded_files(settings, [Path("/abs/corpus")])  # {"/abs/corpus/a.txt": [...]}``
    """
    if not usable(settings) or not _index_present(settings):
        return None
    data = _read(settings)
    entry = data.get("ingests", {}).get(roots_key(roots)) if data else None
    return entry if isinstance(entry, dict) else None


@dataclass
class Plan:
    """What an ingestion has to do, file by file, against the manifest of the last one."""

    #: Files as recorded (absolute path -> entry, its time refreshed when only the time changed).
    unchanged: dict[str, FileEntry] = field(default_factory=dict)
    #: New and changed files: to load, chunk and index, in discovery order.
    todo: list[Path] = field(default_factory=list)
    #: Recorded files that are no longer article files under the paths: their chunks are to delete.
    removed: list[str] = field(default_factory=list)
    #: Whether a manifest entry was there to plan against (without one every file is in ``todo``).
    recorded: bool = False

    @property
    def pending(self) -> list[str]:
        """Every file this ingestion will touch (absolute paths)."""
        return [_key(p) for p in self.todo] + self.removed

    def count_unchanged(self, report: IngestReport) -> None:
        """Add the unchanged files' articles and chunks to ``report`` as unchanged records."""
        for entry in self.unchanged.values():
            report.articles += entry[3]
            report.chunks += entry[4]
            report.sentences += entry[5]
            report.unchanged += entry[4] + entry[5]


def plan(
    files: Sequence[Path], recorded: Mapping[str, Sequence] | None, stats: Mapping[str, os.stat_result] | None = None
) -> Plan:
    """Sort ``files`` (from :func:`ingest.loading.discover`) into unchanged, new or changed, and removed.

    ``stats``: the files' stat results that ``discover`` took (others are stat'ed here).

    Usage: ``work = plan(files, recorded_files(settings, roots)); work.todo, work.removed``
    """
    if recorded is None:
        return Plan(todo=list(files))
    work = Plan(recorded=True)
    present = set()
    for path in files:
        key = _key(path)
        present.add(key)
        entry = recorded.get(key)
        current = _current(path, entry, stats.get(key) if stats else None) if entry else None
        if current is None:
            work.todo.append(path)
        else:
            work.unchanged[key] = current
    work.removed = sorted(key for key in recorded if key not in present)
    return work


def _key(path: Path) -> str:
    # The walked files of absolute roots are absolute and normalised already: abspath only for others.
    key = os.fspath(path)
    return key if os.path.isabs(key) else os.path.abspath(key)


@dataclass
class Survey:
    """One look at the paths: the article files found there, and the plan against the manifest.

    Usage::

        look = survey([Path("corpus")], settings)
        look.unchanged_report()            # the report when nothing changed, else None
        ingest([Path("corpus")], settings, look=look)   # reuses it if the manifest is still the same
    """

    roots: list[Path]
    files: list[Path]
    skipped: list[Skipped]
    unread: list[Skipped]
    work: Plan
    #: What the plan was made against: the manifest file's identity and the index generation.
    basis: tuple
    started: float

    def report(self) -> IngestReport:
        """A report with the files found and the unchanged files' articles and chunks counted."""
        report = IngestReport(files=len(self.files), skipped=list(self.skipped), unread=list(self.unread))
        self.work.count_unchanged(report)
        return report

    def unchanged_report(self) -> IngestReport | None:
        """The report of an ingestion that would change nothing, or ``None`` if it must really run."""
        if not self.work.recorded or self.skipped or self.work.todo or self.work.removed:
            return None
        report = self.report()
        report.seconds = time.perf_counter() - self.started
        return report

    def still_valid(self, settings: Settings) -> bool:
        """Whether no ingestion wrote the index or the manifest since (call it under the writer lock)."""
        return _basis(settings) == self.basis


def _basis(settings: Settings) -> tuple:
    try:
        status = manifest_path(settings).stat()
        manifest = (status.st_ino, status.st_size, status.st_mtime_ns)
    except OSError:
        manifest = None
    return manifest, _generation(settings)


def survey(paths: Sequence[Path], settings: Settings, *, rebuild: bool = False) -> Survey:
    """Find the article files under ``paths`` and plan against the manifest (no plan with ``rebuild``).

    Usage: ``look = survey([Path("corpus")], settings); look.work.todo``
    """
    started = time.perf_counter()
    roots = [Path(os.path.abspath(p)) for p in paths]
    basis = _basis(settings)  # before reading: a manifest written after it makes the survey stale
    recorded = None if rebuild else recorded_files(settings, roots)
    unread: list[Skipped] = []
    stats: dict[str, os.stat_result] = {}
    files, skipped = discover(roots, unread, stats)
    return Survey(roots, files, skipped, unread, plan(files, recorded, stats), basis, started)


def unchanged_report(paths: Sequence[Path], settings: Settings) -> IngestReport | None:
    """The report of an ingestion that would change nothing, or ``None`` if it must really run.

    Usage: ``report = unchanged_report([Path("corpus")], settings) or ingest([Path("corpus")], settings)``
    """
    return survey(paths, settings).unchanged_report()


def _current(path: Path, recorded: Sequence, stat: os.stat_result | None = None) -> FileEntry | None:
    """The file's entry if its content is as recorded (with its current time), else ``None``."""
    try:
        stat = stat or path.stat()
    except OSError:
        return None
    size, mtime_ns, sha256 = recorded[0], recorded[1], recorded[2]
    if stat.st_size != size:
        return None
    counts = (int(recorded[3]), int(recorded[4]), int(recorded[5]) if len(recorded) > 5 else 0)
    # Same size and modification time: the same file (what make and rsync trust too); a touched
    # file with the same bytes is still unchanged, and is recorded with its new time.
    if stat.st_mtime_ns == mtime_ns or sha256_file(path) == sha256:
        return (size, stat.st_mtime_ns, sha256, *counts)
    return None


class ManifestWriter:
    """Collects what one ingestion read, file by file, and saves the manifest.

    Usage::

        writer = ManifestWriter(settings, roots, work.unchanged)
        writer.begin(work.pending)              # before the index is written: what a killed run leaves
        stamp = writer.stamp(path)              # before reading the file
        writer.add(path, stamp, articles=1, chunks=7)
        writer.retry(path)                      # a file that could not be read: read it again next time
        writer.save()                           # when the run completed
    """

    def __init__(self, settings: Settings, roots: Sequence[Path], kept: Mapping[str, FileEntry] | None = None) -> None:
        """
        Args:
            settings: where the index (and so the manifest) lives, and the chunking settings fingerprinted.
            roots: the files and folders this ingestion was asked for; a later run must ask for the same.
            kept: the entries of files this ingestion leaves as they are (``Plan.unchanged``).
        """
        self.settings = settings
        self.key = roots_key(roots)
        self.files: dict[str, FileEntry] = dict(kept or {})

    @staticmethod
    def stamp(path: Path) -> tuple[int, int, str] | None:
        """The file's (size, mtime_ns, sha256), taken before it is read: a later edit shows as a change."""
        try:
            stat = path.stat()
            return stat.st_size, stat.st_mtime_ns, sha256_file(path)
        except OSError:
            return None

    def begin(self, pending: Iterable[str]) -> None:
        """Save the manifest with ``pending`` files marked to be read again, before the index is written."""
        self._write({**self.files, **{path: (PENDING, 0, "", 0, 0, 0) for path in pending}})

    def add(
        self, path: Path, stamp: tuple[int, int, str] | None, articles: int, chunks: int, sentences: int = 0
    ) -> None:
        if stamp is not None:
            self.files[os.path.abspath(path)] = (*stamp, articles, chunks, sentences)

    def retry(self, path: Path) -> None:
        """Record ``path`` as pending: it was not read completely, so the next run reads it again."""
        self.files[os.path.abspath(path)] = (PENDING, 0, "", 0, 0, 0)

    def save(self) -> None:
        """Save what this ingestion recorded: call only when it completed."""
        self._write(self.files)

    def _write(self, files: Mapping[str, FileEntry]) -> None:
        if not usable(self.settings):
            return
        # One entry: a manifest of other paths was dropped or replaced when this ingestion started.
        payload = {
            "version": MANIFEST_VERSION,
            "fingerprint": fingerprint(self.settings),
            "generation": _generation(self.settings),
            "ingests": {self.key: files},
        }
        path = manifest_path(self.settings)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, path)

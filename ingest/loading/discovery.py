"""Finding article files: walk folders, and report pipes, sockets, devices and link loops.

Usage::

    from ingest.loading.discovery import discover
    files, skipped = discover([Path("corpus"), Path("extra/article.html")])
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from ingest.loading.model import Skipped
from ingest.loading.registry import file_type, is_supported, unsupported_reason


def discover(
    paths: Sequence[Path], unread: list[Skipped] | None = None, stats: dict[str, os.stat_result] | None = None
) -> tuple[list[Path], list[Skipped]]:
    """Expand files and folders into the article files to load, in a stable order.

    Usage: ``files, skipped = discover([Path("corpus"), Path("extra/article.html")], unread=[])``

    Folders are searched recursively (sorted, hidden files and folders skipped, symlinked folders
    followed once so loops end). Files of other types inside folders are not loaded; each is
    appended to ``unread`` with its type (``"PNG image (.png)"``), so the summary can name it.
    A file named explicitly with an unsupported suffix, a missing path, an unreadable folder, and
    any article file that is a pipe, socket, device, broken link or link loop or whose name is not
    UTF-8 is reported as :class:`Skipped`. The same file reached twice is returned once.

    ``stats``, if given, gets the ``os.stat_result`` of each regular file found in a folder (by its
    path as a string): :func:`ingest.manifest.plan` compares them with the manifest without a second stat.
    """
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = _walk(path, skipped, unread, stats)
        elif not path.exists() and not path.is_symlink():
            skipped.append(Skipped(str(path), "no such file or folder"))
            continue
        else:
            problem = _file_problem(path) or (None if is_supported(path) else unsupported_reason(path))
            if problem:
                skipped.append(Skipped(str(path), problem))
                continue
            found = [(path, os.path.realpath(path))]
        for file, key in found:
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files, skipped


_BROKEN_LINK = "broken symbolic link (its target does not exist)"


def _file_problem(path: Path, mode: int | None = None) -> str | None:
    """Why ``path`` cannot be loaded as an article file, or None for a readable-looking regular file.

    ``mode``: the file's ``st_mode`` when the caller already has it (not a link), saving a stat.

    Usage: ``_file_problem(Path("news/pipe.txt"))  # -> "named pipe (FIFO), not a regular file"``
    """
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        # The name's bytes are not UTF-8 (e.g. Latin-1 from an old archive): the path could not be
        # stored as the article's source or shown to the user.
        return "file name is not valid UTF-8: rename the file (e.g. with `convmv -f latin1 -t utf8`)"
    if mode is None:
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


def _walk(
    root: Path, skipped: list[Skipped], unread: list[Skipped] | None, stats: dict[str, os.stat_result] | None
) -> list[tuple[Path, str]]:
    """Supported, non-hidden files under ``root`` with their real paths; folder errors go to ``skipped``,
    other types to ``unread``.

    One ``lstat`` a file, and ``realpath`` once a folder (and for files that are links): a folder of
    100,000 articles is listed in about a second, where a ``realpath`` per file took five.
    """

    def on_error(error: OSError) -> None:
        where = error.filename or str(root)
        if isinstance(error, PermissionError):
            skipped.append(Skipped(str(where), "permission denied (cannot list folder)"))
        else:
            skipped.append(Skipped(str(where), f"cannot list folder: {error.strerror or error}"))

    found: list[tuple[Path, str]] = []
    visited: set[tuple[int, int]] = set()
    # followlinks=True so symlinked folders are read, but each real folder only once: that is
    # what stops a link pointing at its own parent from looping forever.
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=on_error):
        try:
            folder = os.stat(dirpath)
        except OSError:
            dirnames.clear()
            continue
        if (folder.st_dev, folder.st_ino) in visited:
            dirnames.clear()
            continue
        visited.add((folder.st_dev, folder.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        real_dir = os.path.realpath(dirpath)
        parent = Path(dirpath)  # parsed once a folder: a Path per file from its name alone is cheaper
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            file = parent / name
            if not is_supported(file):
                if unread is not None:
                    # Sniffed only when it is a regular file: opening a pipe would block.
                    unread.append(Skipped(str(file), _file_problem(file) or file_type(file)))
                continue
            status = _lstat(file)
            link = status is None or stat.S_ISLNK(status.st_mode)
            # Pipes, sockets, devices and link loops in a folder are reported, never opened:
            # reading a pipe would block the ingestion forever.
            problem = _file_problem(file, None if status is None or link else status.st_mode)
            if problem:
                skipped.append(Skipped(str(file), problem))
                continue
            found.append((file, os.path.realpath(file) if link else os.path.join(real_dir, name)))
            if stats is not None and not link:
                stats[str(file)] = status
    return found


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None

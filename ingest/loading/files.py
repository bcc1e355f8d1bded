"""Reading one article file safely: refuse folders, pipes and devices, explain every OS error.

Usage::

    from ingest.loading.files import read_bytes
    data = read_bytes(Path("corpus/a.txt"))   # raises Unreadable("permission denied"), ...
"""

from __future__ import annotations

from pathlib import Path

from ingest.loading.model import Unreadable


def require_regular_file(path: Path) -> None:
    """Raise :class:`Unreadable` unless ``path`` is missing or a regular file.

    Usage: ``require_regular_file(Path("feed.jsonl"))``
    """
    # Opening a pipe or device would block or read forever.
    if path.is_dir():
        raise Unreadable("is a folder, not a file")
    if path.exists() and not path.is_file():
        raise Unreadable("not a regular file (device, pipe or socket)")


def read_bytes(path: Path) -> bytes:
    """The whole file's bytes; every failure becomes :class:`Unreadable` with a plain reason.

    Usage: ``data = read_bytes(Path("corpus/a.txt"))``
    """
    require_regular_file(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise Unreadable("no such file (it may have been moved or deleted)") from None
    except PermissionError:
        raise Unreadable("permission denied") from None
    except IsADirectoryError:
        raise Unreadable("is a folder, not a file") from None
    except OSError as error:
        raise Unreadable(f"could not be read: {error.strerror or error}") from None

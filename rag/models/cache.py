"""The model cache's file handling: hashes, and building a file or folder where no reader sees it half-done.

Usage::

    from rag.models.cache import sha256_file, staged_file, staged_folder
    with staged_folder(model_dir / "multilingual-e5-small") as staging:
        write_everything_into(staging)          # renamed into place only if this block succeeds
    with staged_file(model_dir / "model.gguf") as out:
        out.write(data)

Every builder (the e5 conversion, its ONNX export, the GGUF assembly) stages next to its target under
``.<name>.partial-<pid>-<random>`` and renames into place; a build killed mid-way leaves such an entry,
which the next build removes once the process that made it is gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file.

    Usage: ``sha256_file(Path("model.gguf"))``
    """
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def staging_prefix(dest: Path) -> str:
    """The name every staging entry of ``dest`` starts with (the builder's pid follows)."""
    return f".{dest.name}.partial-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(dest: Path) -> None:
    """Delete staging files and folders that killed builds left next to ``dest``.

    An entry whose builder process is still running is left alone: it may be a concurrent build.

    Usage: ``remove_stale_staging(model_dir / "multilingual-e5-small")``
    """
    prefix = staging_prefix(dest)
    if not dest.parent.is_dir():
        return
    for entry in dest.parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix) :].split("-", 1)[0]
        if pid_text.isdigit() and _pid_alive(int(pid_text)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()


def _make_readable(path: Path) -> None:
    # mkdtemp/mkstemp create owner-only entries; a model cache is ordinary readable data.
    if path.is_dir():
        path.chmod(0o755)
        for entry in path.rglob("*"):
            entry.chmod(0o755 if entry.is_dir() else 0o644)
    else:
        path.chmod(0o644)


@contextlib.contextmanager
def staged_folder(dest: Path) -> Iterator[Path]:
    """A fresh folder to build ``dest`` in; renamed to ``dest`` (replacing it) when the block succeeds.

    Until then ``dest`` is absent or the previous build, never a partial one.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(dest)
    staging = Path(tempfile.mkdtemp(prefix=f"{staging_prefix(dest)}{os.getpid()}-", dir=dest.parent))
    try:
        yield staging
        _make_readable(staging)
        # rename() cannot replace a non-empty directory: the old build is moved aside under a staging
        # name first (removed right after, or by remove_stale_staging if we are killed in between).
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f"{staging_prefix(dest)}{os.getpid()}-", dir=dest.parent))
            os.replace(dest, old / dest.name)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # only still there if something failed


@contextlib.contextmanager
def staged_file(dest: Path) -> Iterator[BinaryIO]:
    """A temporary file to write ``dest`` into; synced and renamed to ``dest`` when the block succeeds.

    Raise inside the block to abandon it: ``dest`` keeps whatever it held before.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(dest)
    fd, name = tempfile.mkstemp(prefix=f"{staging_prefix(dest)}{os.getpid()}-", dir=dest.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        _make_readable(tmp)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()

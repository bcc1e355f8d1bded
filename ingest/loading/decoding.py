"""Bytes to text: BOM/UTF-8/UTF-16/declared charset/cp1252, binary files refused with a reason.

Usage::

    from ingest.loading.decoding import decode, normalise_text
    text = normalise_text(decode(Path("a.txt").read_bytes()))   # raises Unreadable for binary data
"""

from __future__ import annotations

import codecs
import re

from ingest.loading.model import Unreadable

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive or Office/EPUB document"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Microsoft Office document"),
    (b"{\\rtf", "RTF document"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x7fELF", "executable program"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"ID3", "MP3 audio"),
    (b"OggS", "Ogg audio/video"),
    (b"fLaC", "FLAC audio"),
    (b"wOFF", "web font"),
    (b"wOF2", "web font"),
    (b"\x00asm", "WebAssembly program"),
)
_RIFF_KINDS = {b"WEBP": "WebP image", b"WAVE": "WAV audio", b"AVI ": "AVI video"}

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# C0 control bytes that text does not contain (tab, newlines, form feed and ESC it may), plus DEL;
# and the five bytes cp1252 leaves undefined. translate(None, _ALL_EXCEPT[...]) deletes every
# other byte, so its length counts the suspicious ones without copying the file.
_SUSPICIOUS_BYTES = bytes([*range(1, 9), 0x0E, *range(0x10, 0x1B), *range(0x1C, 0x20), 0x7F])
_CP1252_UNDEFINED = bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D])
_ALL_EXCEPT = {
    name: bytes(b for b in range(256) if b not in chars)
    for name, chars in (("c0", _SUSPICIOUS_BYTES), ("cp1252", _CP1252_UNDEFINED))
}
_NOT_TEXT = "not UTF-8, UTF-16 or Latin-1/cp1252 text"


def binary_kind(head: bytes) -> str | None:
    """The kind of a well-known binary format from its first bytes, else None.

    Usage: ``binary_kind(b"%PDF-1.7")  # -> "PDF document"``
    """
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"RIFF") and head[8:12] in _RIFF_KINDS:
        return _RIFF_KINDS[head[8:12]]
    if head[4:8] == b"ftyp":
        return "MP4/MOV/HEIC media"
    return None


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' if the NUL bytes sit in every other position, else None."""
    sample = data[:4096]
    half = len(sample) // 2
    if half < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def decode(data: bytes, declared: str | None = None) -> str:
    """Bytes to text: UTF-8/16/32 by BOM, UTF-8, ``declared``, then cp1252 if it looks like text.

    Raises Unreadable with a specific reason for empty, binary and undecodable input.

    Usage: ``text = decode(Path("a.txt").read_bytes())`` or ``decode(data, "iso-8859-1")`` for
    an HTML page that declares its charset.
    """
    if not data:
        raise Unreadable("empty file")
    kind = binary_kind(data[:16])
    if kind:
        raise Unreadable(f"binary file ({kind}), not text")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as error:
                name = codec.upper().removesuffix("-SIG")
                raise Unreadable(
                    f"starts with a {name} byte-order mark but is not valid {name} (bad bytes at offset {error.start})"
                ) from None
    nuls = data.count(0)
    if nuls:
        codec = _utf16_without_bom(data)
        if codec:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                raise Unreadable(f"binary file (NUL bytes), {_NOT_TEXT}") from None
        # A few stray NULs are tolerated (they are removed later); many mean binary data.
        if nuls > max(8, len(data) // 1000):
            raise Unreadable("binary file (contains many NUL bytes), not text")
    suspicious = len(data.translate(None, _ALL_EXCEPT["c0"]))
    if suspicious > max(8, len(data) // 200):
        raise Unreadable(f"{_NOT_TEXT} (too many control characters)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    # Latin-1 text has few bytes above 0x7F (umlauts, quotes); random binary data has ~half.
    high = len(data) - len(data.translate(None, bytes(range(0x80, 0x100))))
    if high > len(data) * 0.3 or len(data.translate(None, _ALL_EXCEPT["cp1252"])) > 8:
        raise Unreadable(_NOT_TEXT)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# \r\n and lone \r become \n; other line/paragraph separators too, since a newline is the only
# paragraph boundary the chunker knows. NUL and other control characters are removed.
_NEWLINES = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufeff]")
# `in` is a memchr-speed scan, ~10x faster than a regex search of a 50 MB text with nothing to do.
_NEWLINE_CHARS = "\r\x0b\x0c\x85\u2028\u2029"
_CONTROL_CHARS = "".join(map(chr, [*range(0, 9), *range(0x0E, 0x20), 0x7F, 0xFEFF]))


def normalise_text(text: str) -> str:
    """Newlines to ``\\n``, NUL and other control characters removed; nothing else changes.

    Usage: ``normalise_text("Titel\\r\\nText\\x00")  # -> "Titel\\nText"``
    """
    if any(char in text for char in _NEWLINE_CHARS):
        text = _NEWLINES.sub("\n", text)
    if any(char in text for char in _CONTROL_CHARS):
        text = _CONTROLS.sub("", text)
    return text


def require_text(text: str) -> str:
    """``text`` itself, or Unreadable if it is empty or only whitespace.

    Usage: ``text = require_text(normalise_text(decode(data)))``
    """
    if not text or text.isspace():  # not strip(): that would copy a 50 MB text
        raise Unreadable("empty file (only whitespace)")
    return text

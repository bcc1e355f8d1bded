""".jsonl feeds: one article per line's ``"text"`` value, normalised like ``.txt``.

Usage::

    from ingest.loading import jsonl
    articles, skipped = jsonl.load(Path("feed.jsonl"), source="/abs/feed.jsonl")
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

from ingest.loading.decoding import binary_kind, normalise_text
from ingest.loading.files import require_regular_file
from ingest.loading.model import Article, Skipped, Unreadable
from ingest.loading.titles import first_line, title_from_line

# After this many bad lines and no good one, the file is reported once instead of line by line.
_JSONL_GIVE_UP = 20


def load(path: Path, source: str) -> tuple[list[Article], list[Skipped]]:
    """One article per good line; bad lines are reported one by one, never raised.

    Usage: ``articles, skipped = load(Path("feed.jsonl"), "/abs/feed.jsonl")``
    """
    articles: list[Article] = []
    skipped: list[Skipped] = []
    seen_ids: dict[str, int] = {}
    any_line = False
    try:
        require_regular_file(path)
        with path.open("rb") as handle:
            head = handle.read(16)
            kind = binary_kind(head)
            if kind:
                raise Unreadable(f"binary file ({kind}), not text")
            handle.seek(0)
            # Line by line so a huge feed never sits in memory twice.
            for line_no, raw in enumerate(handle, start=1):
                if line_no == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
                if not raw.strip():
                    continue
                any_line = True
                try:
                    article = _jsonl_article(raw, line_no, source, seen_ids)
                except Unreadable as problem:
                    skipped.append(Skipped(str(path), str(problem)))
                    if len(skipped) >= _JSONL_GIVE_UP and not articles:
                        raise Unreadable(
                            f"not a JSON Lines file: the first {_JSONL_GIVE_UP} non-empty "
                            f"lines are all invalid (first problem: {skipped[0].reason})"
                        ) from None
                else:
                    articles.append(article)
    except FileNotFoundError:
        return [], [Skipped(str(path), "no such file (it may have been moved or deleted)")]
    except PermissionError:
        return [], [Skipped(str(path), "permission denied")]
    except Unreadable as problem:
        return [], [Skipped(str(path), str(problem))]
    except OSError as error:
        return [], [Skipped(str(path), f"could not be read: {error.strerror or error}")]
    if not any_line:
        skipped.append(Skipped(str(path), "empty file"))
    return articles, skipped


def _jsonl_article(raw: bytes, line_no: int, source: str, seen_ids: dict[str, int]) -> Article:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable(f"line {line_no} is not UTF-8 text (JSON Lines must be UTF-8)") from None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise Unreadable(f"invalid JSON on line {line_no}: {error.msg} (column {error.colno})") from None
    if not isinstance(record, dict):
        raise Unreadable(f"line {line_no} is a JSON {type(record).__name__}, not an object")
    if "text" not in record or record["text"] is None:
        raise Unreadable(f"missing 'text' on line {line_no}")
    if not isinstance(record["text"], str):
        kind = type(record["text"]).__name__
        raise Unreadable(f"'text' on line {line_no} is a {kind}, not a string")
    text = normalise_text(record["text"])
    if not text.strip():
        raise Unreadable(f"empty 'text' on line {line_no}")
    # A stable id keeps the article's identity when lines are inserted above it.
    ident = record.get("id")
    if isinstance(ident, (str, int)) and not isinstance(ident, bool) and str(ident).strip():
        key = str(ident).strip()
        if key in seen_ids:
            raise Unreadable(f"duplicate id {key!r} on line {line_no} (first used on line {seen_ids[key]})")
        seen_ids[key] = line_no
        line_source = f"{source}#id={key}"
    else:
        line_source = f"{source}#{line_no}"
    title = _optional_str(record.get("title"))
    return Article(
        source=line_source,
        title=title_from_line(title or first_line(text)),
        text=text,
        url=_optional_str(record.get("url")),
        date=_optional_str(record.get("date")),
    )


def _optional_str(value: object) -> str | None:
    """Strings and numbers as stripped text; anything else (null, lists, objects) as None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return " ".join(str(value).split()) or None

""".md articles: front matter, HTML comments, images and link URLs removed, markers dropped.

Headings stay in the text as plain lines.

Usage::

    from ingest.loading import markdown
    article = markdown.parse(data, source="/abs/a.md", stem="a")
"""

from __future__ import annotations

import re

from ingest.loading.decoding import decode, normalise_text, require_text
from ingest.loading.model import Article, Unreadable
from ingest.loading.titles import first_line, title_from_line

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_FIELD = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", re.MULTILINE)
_MD_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Comments and scripts can hide text (e.g. instructions to the LLM) that a reader never sees.
    (re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL), ""),
    (re.compile(r"<(script|style|template)\b.*?(?:</\1\s*>|\Z)", re.DOTALL | re.IGNORECASE), ""),
    (re.compile(r"^[ \t]{0,3}(```|~~~).*$", re.MULTILINE), ""),
    # Images: ![alt](url) and ![alt][ref]. A URL may contain one level of parentheses.
    (re.compile(r"!\[[^\]\n]*\](?:\((?:[^()\n]|\([^()\n]*\))*\)|\[[^\]\n]*\])"), ""),
    # Links keep their text: [text](url "title") and [text][ref].
    (re.compile(r"\[([^\]\n]+)\]\((?:[^()\n]|\([^()\n]*\))*\)"), r"\1"),
    (re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]"), r"\1"),
    (re.compile(r"^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S+.*$", re.MULTILINE), ""),
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>\n]*)?/?>"), ""),
    # ATX headings lose their #s, setext underlines and rules disappear.
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE), r"\1"),
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]*$", re.MULTILINE), ""),
    (re.compile(r"^[ \t]{0,3}(?:=+|-{2,}|\*{3,}|_{3,})[ \t]*$", re.MULTILINE), ""),
    (re.compile(r"^[ \t]{0,3}>[ \t]?", re.MULTILINE), ""),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<=\S) {2,}(?=\S)"), " "),  # left behind by removed images and tags
    (re.compile(r"[ \t]+$", re.MULTILINE), ""),
    (re.compile(r"\n{3,}"), "\n\n"),
)
_MD_H1 = re.compile(r"^[ \t]{0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)


def parse(data: bytes, source: str, stem: str) -> Article:
    """One article from a markdown file; front matter gives title, url and date.

    Usage: ``article = parse(Path("a.md").read_bytes(), "/abs/a.md", "a")``
    """
    raw = require_text(normalise_text(decode(data)))
    del data
    meta: dict[str, str] = {}
    front = _FRONT_MATTER.match(raw)
    if front:
        for key, value in _FRONT_FIELD.findall(front.group(1)):
            meta[key.lower()] = value.strip().strip("\"'")
        raw = raw[front.end() :]
    heading = _MD_H1.search(raw)
    text = raw
    for pattern, replacement in _MD_RULES:
        text = pattern.sub(replacement, text)
    text = text.strip("\n")
    if not text or text.isspace():
        raise Unreadable("Markdown without text (nothing left outside comments, code and markup)")
    title = meta.get("title") or (_clean_inline_md(heading.group(1)) if heading else "")
    return Article(
        source=source,
        title=title_from_line(title or first_line(text)) or stem,
        text=text,
        url=meta.get("url") or meta.get("canonical_url") or meta.get("link") or None,
        date=meta.get("date") or meta.get("published") or None,
    )


def _clean_inline_md(line: str) -> str:
    for pattern, replacement in _MD_RULES:
        line = pattern.sub(replacement, line)
    return line.strip()

""".html/.htm articles: the main text (trafilatura) of the visible page, one paragraph per line.

Chrome, code and hidden elements are removed first with BeautifulSoup (hidden text may carry
instructions meant for the model). A page that marks its article (``<article>``, else ``<main>``) gives
that element's readable text, one block per line. A page of plain ``<div>``s gives what trafilatura
finds as its main text among teasers, comments, cookie banners and link lists (measured in
bench/html_extraction.py: docs/ingestion.md), or the body's readable text if it finds nothing. The date comes from the page's meta tags, else from htmldate
(JSON-LD included).

Usage::

    from ingest.loading import html
    article = html.parse(data, source="/abs/a.html", stem="a")
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag

from ingest.loading.decoding import decode, normalise_text, require_text
from ingest.loading.model import Article, Unreadable
from ingest.loading.titles import first_line, title_from_line

# Never article text: code, chrome around the article, and interactive widgets.
_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "footer",
    "header",
    "aside",
    "form",
    "head",
    "iframe",
    "svg",
    "math",
    "canvas",
    "object",
    "embed",
    "audio",
    "video",
    "button",
    "select",
    "dialog",
)
_BLOCK_TAGS = frozenset(
    "address article blockquote body caption dd details div dl dt fieldset figcaption figure "
    "h1 h2 h3 h4 h5 h6 hgroup hr li main ol p pre section summary table tbody tfoot thead tr ul "
    "br".split()
)
_CELL_TAGS = frozenset({"td", "th"})
# Paragraph break marker while gathering strings; U+2029 is the Unicode paragraph separator.
_PARA = "\u2029"
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def parse(data: bytes, source: str, stem: str) -> Article:
    """One article from an HTML page: the main content's text, headline as the first line.

    Usage: ``article = parse(Path("a.html").read_bytes(), "/abs/a.html", "a")``
    """
    declared = _META_CHARSET.search(data[:4096])
    charset = declared.group(1).decode("ascii") if declared else None
    html = require_text(normalise_text(decode(data, charset)))
    del data
    soup = BeautifulSoup(html, "html.parser")
    url = _canonical_url(soup)
    date = _published_date(soup) or _dated_by_htmldate(html)
    del html
    root = _main_container(soup)
    title = _html_title(soup, root)
    _drop_invisible(soup)
    text = ""
    if root.name in ("body", "[document]"):
        # No <article> or <main>: a page of plain <div>s, where the tag rules cannot tell teasers,
        # comments and banners from the article. Hidden elements are gone before trafilatura sees
        # the page: it keeps text a reader never sees.
        text = _main_text(str(root))
    if not text:
        text = _block_text(root)
    if not text and root is not soup:
        text = _block_text(soup)
    if not text.strip():
        raise Unreadable("HTML without text (nothing readable outside scripts, menus and comments)")
    title = title or title_from_line(first_line(text)) or stem
    # The headline usually sits in a <header> that was dropped with the page chrome; put it back
    # as the first line so the text reads like a .txt article.
    if not text.startswith(title):
        text = f"{title}\n{text}"
    return Article(source=source, title=title, text=text, url=url, date=date)


def _main_text(page: str) -> str:
    """The article's text as trafilatura finds it (teasers, comments, banners and link lists left out).

    Measured on realistic pages (bench/html_extraction.py, docs/ingestion.md): on pages of plain <div>s
    the tag rules let every teaser, comment and banner through; trafilatura (favouring recall, which
    keeps headings and lists) one phrase.
    """
    import trafilatura

    text = trafilatura.extract(page, include_comments=False, include_tables=True, favor_recall=True)
    lines = (" ".join(line.split()) for line in (text or "").splitlines())
    # trafilatura marks list items with "- "; the item's words are the text.
    return "\n".join(line.removeprefix("- ") for line in lines if line)


def _dated_by_htmldate(html: str) -> str | None:
    """The publication date htmldate finds (JSON-LD, meta tags, the URL, marked-up dates), or None.

    No extensive search: a date guessed from the article's own text would be wrong as often as right.
    """
    from htmldate import find_date

    try:
        return find_date(html, extensive_search=False, original_date=True)
    except (ValueError, TypeError):  # a page htmldate's parser cannot read: the date stays unknown
        return None


def _collapse(value: object) -> str:
    return " ".join(str(value).split()) if value else ""


def _meta_content(soup: BeautifulSoup, *keys: str) -> str:
    for key in keys:
        for attr in ("property", "name", "itemprop"):
            tag = soup.find("meta", attrs={attr: key})
            if isinstance(tag, Tag) and _collapse(tag.get("content")):
                return _collapse(tag.get("content"))
    return ""


def _canonical_url(soup: BeautifulSoup) -> str | None:
    for link in soup.find_all("link", href=True):
        rel = link.get("rel") or []
        rels = rel if isinstance(rel, list) else str(rel).split()
        if "canonical" in (r.lower() for r in rels):
            return _collapse(link["href"]) or None
    return _meta_content(soup, "og:url") or None


def _published_date(soup: BeautifulSoup) -> str | None:
    found = _meta_content(soup, "article:published_time", "datePublished", "date", "pubdate", "publishdate", "dc.date")
    if found:
        return found
    time = soup.find("time", attrs={"datetime": True})
    return (_collapse(time["datetime"]) or None) if isinstance(time, Tag) else None


def _main_container(soup: BeautifulSoup) -> Tag:
    """The element holding the article: the longest <article>, else <main>, else <body>."""
    articles = soup.find_all("article")
    if articles:
        return max(articles, key=lambda tag: len(tag.get_text()))
    for name in ("main", "body"):
        tag = soup.find(name)
        if isinstance(tag, Tag):
            return tag
    return soup


def _html_title(soup: BeautifulSoup, root: Tag) -> str:
    # <h1> in the article first: <title> usually carries a " | Site name" suffix.
    candidates = (
        root.find("h1"),
        soup.find("meta", attrs={"property": "og:title"}),
        soup.find("title"),
        soup.find("h1"),
    )
    for candidate in candidates:
        if not isinstance(candidate, Tag):
            continue
        raw = candidate.get("content") if candidate.name == "meta" else candidate.get_text(" ")
        text = _collapse(raw)
        if text:
            return title_from_line(text)
    return ""


def _drop_invisible(soup: BeautifulSoup) -> None:
    """Remove chrome, code and hidden elements; hidden text may carry injected instructions."""
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    hidden = [
        tag
        for tag in soup.find_all(True)
        if tag.has_attr("hidden")
        or str(tag.get("aria-hidden", "")).lower() == "true"
        or _HIDDEN_STYLE.search(str(tag.get("style", "")))
    ]
    for tag in hidden:
        if not tag.decomposed:
            tag.decompose()


def _block_text(root: Tag) -> str:
    """Visible text under ``root``: one line per block element, whitespace collapsed."""
    for tag in root.find_all(_BLOCK_TAGS | _CELL_TAGS):
        gap = " " if tag.name in _CELL_TAGS else _PARA
        tag.insert_before(gap)
        tag.insert_after(gap)
    # Only plain strings: Comment, CData, Doctype, Declaration and script/style strings are
    # subclasses and are skipped, so comments never reach the text.
    pieces = [s for s in root.descendants if type(s) is NavigableString]
    paragraphs = (" ".join(p.split()) for p in "".join(pieces).split(_PARA))
    return "\n".join(p for p in paragraphs if p)

"""The chat's HTML: answers with linked citations, the Sources panel, and the page's CSS and script.

Usage::

    from ui.rendering import answer_html, answer_sources, final_html, sources_panel
    answer_html("10.000 Soldaten [1]", turn="a1b2")
    # -> '10.000 Soldaten <a class="nq-cite" href="#nq-a1b2-1" title="show passage 1">[1]</a>'
    sources_panel([answer_sources(answer, "a1b2")])   # the panel: newest answer open, older ones folded

Everything here is pure string building (no Gradio), so it can be checked without a server.

Untrusted text: article text, titles and the model's words are HTML-escaped here, and the chatbot
renders messages as HTML without markdown, so neither ``<script>`` nor ``[link](javascript:…)`` in an
article can become markup; the only tags on the page are ours.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.answer.results import Answer
from rag.answer.supporting import claim_for, supporting_span
from rag.retrieval.retrieving import Passage
from rag.text.language import message
from rag.text.markers import MARKER
from rag.text.sentences import short_title

# Our markup's class and id prefix: nothing in Gradio's own page uses it.
PREFIX = "nq"

# Citation links scroll the Sources panel instead of following the href (the chatbot would open
# links in a new tab), open an older answer's folded sources, and flash the passage.
JS = """
() => {
  window.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href^='#nq-']");
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    const folded = target.closest("details");
    if (folded) folded.open = true;
    document.querySelectorAll(".nq-passage.nq-active").forEach((el) => el.classList.remove("nq-active"));
    target.classList.add("nq-active");
    // A window can be taller than the screen: bring its highlighted sentence into view.
    (target.querySelector("mark.nq-support") || target).scrollIntoView({behavior: "smooth", block: "center"});
  }, true);
}
"""

CSS = """
.nq-cite { font-size: 0.8em; vertical-align: super; text-decoration: none; padding: 0 1px;
           color: var(--color-accent); cursor: pointer; }
.nq-unsupported { background: #fde2e1; color: #8a1c14; border-bottom: 2px dotted #c0392b; }
.nq-warning { color: #8a1c14; font-size: 0.9em; margin-top: 4px; }
.nq-searched { display: block; color: var(--body-text-color-subdued); font-size: 0.8em; margin-top: 6px; }
.nq-quick { border-left: 3px solid var(--color-accent); padding-left: 8px; margin-bottom: 6px; font-size: 0.95em; }
.nq-quick-label { color: var(--body-text-color-subdued); font-size: 0.8em; }
.nq-quick.nq-done { opacity: 0.75; font-size: 0.85em; }
.nq-sources details { margin-bottom: 8px; }
.nq-sources summary { cursor: pointer; font-weight: 600; }
.nq-passage { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 8px 10px;
              margin: 8px 0; transition: box-shadow 0.3s, border-color 0.3s; }
.nq-passage.nq-active { border-color: var(--color-accent); box-shadow: 0 0 0 3px var(--color-accent-soft); }
.nq-meta { color: var(--body-text-color-subdued); font-size: 0.85em; margin: 2px 0 6px; word-break: break-all; }
.nq-text { white-space: pre-wrap; margin: 0; }
.nq-support { background: #fff3a3; color: inherit; padding: 0 1px; }
.nq-empty { color: var(--body-text-color-subdued); }
"""

EMPTY_SOURCES = (
    f'<div class="{PREFIX}-sources"><p class="{PREFIX}-empty">The passages an answer cites appear here.</p></div>'
)


def esc(text: str) -> str:
    """Text as an inert HTML text node (quotes too: the same helper fills attributes)."""
    return html.escape(text, quote=True)


# --- the answer as the chat shows it -----------------------------------------------------------


def mark_numbers(text: str, numbers: Sequence[str]) -> str:
    """Escaped ``text`` with each unsupported number wrapped in a visible mark."""
    if not numbers:
        return esc(text)
    # Longest first, so "10.500" is marked whole rather than its "10"; the lookarounds keep "2.000"
    # from matching inside "12.000".
    pattern = re.compile(
        "|".join(rf"(?<![\w.,]){re.escape(n)}(?![\d])" for n in sorted(set(numbers), key=len, reverse=True))
    )
    out, last = [], 0
    for match in pattern.finditer(text):
        out += [
            esc(text[last : match.start()]),
            f'<mark class="{PREFIX}-unsupported" title="in none of the cited passages">{esc(match.group(0))}</mark>',
        ]
        last = match.end()
    return "".join(out) + esc(text[last:])


def answer_html(text: str, turn: str, unsupported: Sequence[str] = ()) -> str:
    """The answer text escaped, its ``[n]`` turned into links to passage n of this ``turn``."""
    out, last = [], 0
    for match in MARKER.finditer(text):
        out.append(mark_numbers(text[last : match.start()], unsupported))
        for part in match.group(1).split(","):
            n = int(part)
            out.append(f'<a class="{PREFIX}-cite" href="#{PREFIX}-{turn}-{n}" title="show passage {n}">[{n}]</a>')
        last = match.end()
    out.append(mark_numbers(text[last:], unsupported))
    return "".join(out)


def quick_html(event: Any, turn: str, done: bool = False) -> str:
    """The instant extractive answer: the best sentence of the best passage, shown before the LLM's.

    ``event`` is a :class:`rag.answer.quick.QuickAnswer`. ``done``: the checked answer is there, so
    the instant one steps back (smaller, paler).
    """
    passage = getattr(event, "passage", None)
    title = short_title(getattr(event, "title", "") or getattr(event, "source", ""))
    link = f' <a class="{PREFIX}-cite" href="#{PREFIX}-{turn}-{passage}">[{passage}]</a>' if passage else ""
    classes = f"{PREFIX}-quick {PREFIX}-done" if done else f"{PREFIX}-quick"
    return (
        f'<div class="{classes}"><span class="{PREFIX}-quick-label">From the article “{esc(title)}”:</span><br>'
        f"{esc(getattr(event, 'text', ''))}{link}</div>"
    )


def message_html(
    body: str, *, quick: str = "", warning: str = "", searched: str | None = None, status: str = ""
) -> str:
    """One chat message: the quick answer, the answer, a warning, the question searched, and a status
    line while the answer waits for the model."""
    parts = [quick, f'<div class="{PREFIX}-answer">{body}</div>']
    if status:
        parts.append(f'<small class="{PREFIX}-status">{esc(status)}</small>')
    if warning:
        parts.append(f'<div class="{PREFIX}-warning">⚠️ {esc(warning)}</div>')
    if searched:
        parts.append(f'<small class="{PREFIX}-searched">Searched for: {esc(searched)}</small>')
    return "".join(parts)


def final_html(answer: Answer, turn: str, *, quick: str = "", searched: str | None = None) -> str:
    """The checked answer: linked citations, unsupported numbers marked and named below."""
    warning = ""
    if answer.unsupported_numbers:
        warning = message("unsupported_numbers", answer.language, numbers=", ".join(answer.unsupported_numbers))
    body = answer_html(answer.answer, turn, answer.unsupported_numbers)
    return message_html(body, quick=quick, warning=warning, searched=searched)


def plain_answer(content: str) -> str:
    """The answer's words from one of our messages (quick answer, warning and search line dropped)."""
    found = re.search(rf'<div class="{PREFIX}-answer">(.*?)</div>', content, re.DOTALL)
    body = found.group(1) if found else content
    return html.unescape(re.sub(r"<[^>]+>", "", body)).strip()


# --- the Sources panel -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    """The passages one answer cites, rendered for the Sources panel."""

    turn: str
    question: str
    body: str  # the passages' HTML


def passage_html(
    turn: str, n: int, passage: Passage, claim: str, label: str = "", span: tuple[int, int] | None = None
) -> str:
    """One passage: number, title, file or URL, date, and the text with its supporting sentence marked.

    The supporting sentence is ``span`` (offsets in the passage) or the one that best backs ``claim``.
    """
    text = passage.text
    span = span or supporting_span(claim, text)
    if span:
        start, end = span
        shown = f'{esc(text[:start])}<mark class="{PREFIX}-support">{esc(text[start:end])}</mark>{esc(text[end:])}'
    else:
        shown = esc(text)
    where = esc(passage.name)
    # Only web links: a "javascript:" URL in a feed must not become a clickable link.
    if passage.url and re.match(r"https?://", passage.url, re.IGNORECASE):
        where = (
            f'<a href="{esc(passage.url)}" target="_blank" rel="noopener noreferrer nofollow">{esc(passage.url)}</a>'
        )
    meta = where + "".join(f" · {esc(part)}" for part in (passage.place, passage.date) if part)
    return (
        f'<article class="{PREFIX}-passage" id="{PREFIX}-{turn}-{n}">'
        f'<div title="{esc(passage.title)}"><strong>[{n}]</strong> {label}'
        f"<strong>{esc(short_title(passage.title or passage.name))}</strong></div>"
        f'<div class="{PREFIX}-meta">{meta}</div><p class="{PREFIX}-text">{shown}</p></article>'
    )


def _span(quote: Any | None) -> tuple[int, int] | None:
    start, end = getattr(quote, "start", None), getattr(quote, "end", None)
    return (start, end) if isinstance(start, int) and isinstance(end, int) and start < end else None


def answer_sources(answer: Answer, turn: str, quick: Any | None = None) -> Sources:
    """The cited passages of ``answer`` (and the quoted sentence's passage, if not cited).

    ``quick`` is the sentence quoted above the answer (the answer's support, or the instant answer):
    it is the sentence marked in its passage, so the quote and the highlight always agree.
    """
    parts = []
    n = getattr(quick, "passage", None)
    for citation in answer.citations:
        if 0 < citation.n <= len(answer.passages):
            span = _span(quick) if citation.n == n else None
            claim = claim_for(answer.answer, citation.n)
            parts.append(passage_html(turn, citation.n, answer.passages[citation.n - 1], claim, span=span))
    cited = {c.n for c in answer.citations}
    if isinstance(n, int) and 0 < n <= len(answer.passages) and n not in cited:
        label = f'<span class="{PREFIX}-quick-label">(quick answer)</span> '
        parts.append(passage_html(turn, n, answer.passages[n - 1], getattr(quick, "text", ""), label, _span(quick)))
    body = "".join(parts) or f'<p class="{PREFIX}-empty">No passage cited.</p>'
    return Sources(turn=turn, question=answer.question, body=body)


def sources_panel(kept: Sequence[Sources]) -> str:
    """Every kept answer's passages, newest first and open; older ones folded."""
    if not kept:
        return EMPTY_SOURCES
    sections = [
        f"<details {'open' if i == 0 else ''}><summary>{esc(s.question)}</summary>{s.body}</details>"
        for i, s in enumerate(kept)
    ]
    return f'<div class="{PREFIX}-sources">{"".join(sections)}</div>'

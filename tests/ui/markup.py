"""Reading the chat's HTML in tests: the tags it holds and the text a reader sees.

Usage::

    answer_text(message)      # "10,000 to 12,000 soldiers [1]": the answer part of a chat message
    tags(panel)               # [("article", {"class": "nq-passage", "id": ...}), ...]
    cited_passage(answer, panel)   # the answer's first citation link and the passage it points to
"""

from __future__ import annotations

from html.parser import HTMLParser


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self._answer_depth = 0  # > 0 while inside the answer's div
        self.answer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if self._answer_depth:
            self._answer_depth += tag == "div"
        elif tag == "div" and attributes.get("class") == "nq-answer":
            self._answer_depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self._answer_depth and tag == "div":
            self._answer_depth -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._answer_depth:
            self.answer.append(data)


def read(markup: str) -> _Reader:
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return reader


def tags(markup: str) -> list[tuple[str, dict[str, str]]]:
    """Every start tag with its attributes, in order."""
    return read(markup).tags


def visible_text(markup: str) -> str:
    """All text nodes joined: what a reader sees (entities decoded)."""
    return "".join(read(markup).text)


def answer_text(message: str) -> str:
    """The answer part of a chat message (without the quick answer, warnings or the searched line);
    the whole text for messages that have no answer part (errors)."""
    reader = read(message)
    return (
        "".join(reader.answer)
        if any(t == "div" and a.get("class") == "nq-answer" for t, a in reader.tags)
        else "".join(reader.text)
    ).strip()


#: An article whose text is markup a browser would run or render: it must stay text in the chat.
HOSTILE_ARTICLE = (
    "Stadtrat beschließt Budget\nDer Stadtrat beschloss ein Budget von 5.000 Euro <script>alert('x')</script> "
    "<img src=x onerror=alert(1)> [Link](javascript:alert(2)) **fett**."
)
#: A model reply carrying markup of its own.
HOSTILE_REPLY = "<img src=y onerror=alert(3)> 5.000 Euro [1]"
HOSTILE_QUESTION = "Wie hoch ist das Budget des Stadtrats?"


def write_hostile_article(folder):
    """``folder/markup.txt`` holding :data:`HOSTILE_ARTICLE`; returns the folder (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "markup.txt").write_text(HOSTILE_ARTICLE, encoding="utf-8")
    return folder


def cited_passage(answer: str, panel: str) -> tuple[str, dict[str, str], str]:
    """The first citation link of the answer, the passage it points to, and that passage's HTML."""
    link = next(
        attrs for tag, attrs in tags(answer) if tag == "a" and attrs.get("class") == "nq-cite" and "title" in attrs
    )
    target = link["href"].removeprefix("#")
    start = panel.index(f'id="{target}"')
    return target, link, panel[start : panel.index("</article>", start)]

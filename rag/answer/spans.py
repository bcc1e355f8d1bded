"""Grounded by construction: a GBNF grammar that lets the model write only a verbatim span of one
numbered passage followed by that passage's ``[n]``, or ``NOT FOUND``.

Usage::

    grammar = span_grammar(["Westliche Geheimdienste sprechen von 10.000 bis 12.000 Soldaten."])
    chat_model.invoke(messages, grammar=grammar)      # -> "10.000 bis 12.000 Soldaten [1]"

llama.cpp applies the grammar while sampling, so a citation number that points at a passage without
the copied words, or a number that is in no passage, cannot be written at all. A span starts at any
word of a passage and runs over the following words with the passage's own separators between them,
so it is the passage's text word for word (whitespace folded to one space).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: What the model writes when no passage holds the answer.
NOT_FOUND = "NOT FOUND"

# A word keeps its inner punctuation: "10.000", "12,5", "Nordkorea-Soldaten", "O'Neill", "U.S".
_WORD = re.compile(r"\w+(?:[.,'’\-/:]\w+)*")
# The longest span in words: answers are phrases. Without a bound the model, kept to the passage's
# words, copied on to the end of the sentence where it would have stopped (measured, docs/quality.md).
MAX_WORDS = 8


def words_and_separators(text: str) -> tuple[list[str], list[str]]:
    """The words of ``text`` and, for each word but the last, the text between it and the next one
    as the model writes it (whitespace folded to one space)."""
    matches = list(_WORD.finditer(text))
    words = [m.group(0) for m in matches]
    seps = [re.sub(r"\s+", " ", text[a.end() : b.start()]) for a, b in zip(matches, matches[1:])]
    return words, seps


def _literal(text: str) -> str:
    """``text`` as a GBNF string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    escaped = escaped.replace("\t", "\\t")
    return f'"{escaped}"'


def span_grammar(passages: Sequence[str], *, max_words: int = MAX_WORDS, allow_not_found: bool = True) -> str:
    """A GBNF grammar: a verbatim span of passage n of at most ``max_words`` words, then ``" [n]"``;
    or ``NOT FOUND``.

    ``passages`` are numbered from 1 in the order given, as the model sees them.
    """
    rules: list[str] = []
    alternatives: list[str] = []
    for n, text in enumerate(passages, start=1):
        words, seps = words_and_separators(text)
        if not words:
            continue
        # w{n}x{i}r{left}: the span has reached word i and may take ``left`` - 1 more words after it.
        for i, word in enumerate(words):
            for left in range(1, max_words + 1):
                body = _literal(word)
                if left > 1 and i + 1 < len(words):
                    body += f" ({_literal(seps[i])} w{n}x{i + 1}r{left - 1})?"
                rules.append(f"w{n}x{i}r{left} ::= {body}")
        starts = " | ".join(f"w{n}x{i}r{max_words}" for i in range(len(words)))
        rules.append(f"p{n} ::= ({starts}) {_literal(f' [{n}]')}")
        alternatives.append(f"p{n}")
    if allow_not_found or not alternatives:
        alternatives.append(_literal(NOT_FOUND))
    return "\n".join([f"root ::= {' | '.join(alternatives)}", *rules]) + "\n"

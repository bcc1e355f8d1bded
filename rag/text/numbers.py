"""Numbers as people and small models write them, compared as numbers (``12.000`` = ``12,000``).

Usage::

    from rag.text.numbers import find_numbers, unsupported_numbers
    [n.text for n in find_numbers("10.000 bis 12.000 Soldaten [1]")]    # ['10.000', '12.000']
    unsupported_numbers("12,000 soldiers", ["... 10.000 bis 12.000 ..."])  # []

Small models print numbers in many ways ("12.000", "12,000", "12 000", "12, 000"), so a number is
compared by every value it can stand for under English and German conventions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.text.markers import LOOSE_MARKER

# A number as people (and small models) write it: optional sign, digits with thousands groups
# separated by ".", ",", a space, a narrow space or "', '" (as in "12, 000"), and an optional
# decimal part. Groups after the first must have exactly three digits.
NUMBER = re.compile(
    r"(?<![\w.,])"  # not the tail of a word or of a longer number
    r"[-−]?\d{1,3}(?:(?:[.,'’]\s?|[\u00a0\u202f ])\d{3})+(?:[.,]\d+)?(?![\d])"
    r"|(?<![\w.,])[-−]?\d+(?:[.,]\d+)?(?![\d])"
)
_WORD = re.compile(r"\w{4,}")


@dataclass(frozen=True)
class NumberMention:
    """A number as written, with every value it can mean (``12.000`` is 12000 in German, 12 in English)."""

    text: str
    values: frozenset[float]

    def matches(self, other: NumberMention) -> bool:
        return not self.values.isdisjoint(other.values)


def number_values(raw: str) -> frozenset[float]:
    """Every value the written number can stand for, under English and German conventions."""
    text = raw.replace("−", "-").replace("\u00a0", " ").replace("\u202f", " ").replace("’", "'")
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("-")
    compact = re.sub(r"(?<=[.,'])\s", "", text)  # "12, 000" -> "12,000"
    candidates: set[float] = set()
    # Spaces and apostrophes only ever group thousands.
    compact = re.sub(r"(?<=\d)[ '](?=\d{3})", "", compact)
    for thousands, decimal in ((",", "."), (".", ",")):
        parts = compact.split(decimal)
        if len(parts) > 2:
            continue
        integer = parts[0]
        groups = integer.split(thousands)
        if len(groups) > 1 and not all(len(g) == 3 for g in groups[1:]):
            continue
        fraction = parts[1] if len(parts) == 2 else ""
        if fraction == "000":
            continue  # "12,000" / "12.000" are thousands in every convention, never 12.0
        number = "".join(groups) + ("." + fraction if fraction else "")
        try:
            candidates.add(sign * float(number))
        except ValueError:
            continue
    return frozenset(candidates)


def find_numbers(text: str) -> list[NumberMention]:
    """All numbers written in ``text`` (citation markers excluded).

    >>> [n.text for n in find_numbers("10.000 bis 12.000 Soldaten [1]")]
    ['10.000', '12.000']
    """
    text = LOOSE_MARKER.sub(" ", text)
    mentions = []
    for match in NUMBER.finditer(text):
        raw = match.group(0).strip()
        values = number_values(raw)
        if values:
            mentions.append(NumberMention(raw, values))
    return mentions


def unsupported_numbers(text: str, sources: Sequence[str]) -> list[str]:
    """The numbers in ``text`` that appear in none of ``sources`` (compared as numbers)."""
    known = [n for source in sources for n in find_numbers(source)]
    return [n.text for n in find_numbers(text) if not any(n.matches(k) for k in known)]


def support_score(claim: str, text: str) -> float:
    """How well ``text`` supports ``claim``: each shared number counts 10, each shared word of 4+ letters 1."""
    numbers = find_numbers(claim)
    text_numbers = find_numbers(text)
    number_hits = sum(any(n.matches(t) for t in text_numbers) for n in numbers)
    lowered = text.lower()
    word_hits = sum(word in lowered for word in set(_WORD.findall(claim.lower())))
    return 10.0 * number_hits + word_hits

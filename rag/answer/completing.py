"""The whole fact: a number copied from inside a range, a qualified phrase or a scaled amount comes
back whole, from the passage, deterministically.

Usage::

    whole_fact("12.000", "Geheimdienste sprechen von 10.000 bis 12.000 Soldaten.")   # "10.000 bis 12.000"
    whole_fact("4.000", "seitdem rund 4.000 Soldaten getötet")                        # "rund 4.000"
    whole_fact("1,2", "Die Kosten liegen bei 1,2 Milliarden Euro.")                   # "1,2 Milliarden Euro"

"12.000" where the article says "10.000 bis 12.000" is a different claim, and so is "4.000" for
"rund 4.000" or "1,2" for "1,2 Milliarden": the small model often copies only the number it was asked
about, so the words around it that change what it claims are put back here, from the passage itself.
"""

from __future__ import annotations

import re

# A number as articles write it: "10.000", "1,2", "300", "12 000".
_NUM = r"\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"

# Words before a number that change what it claims; German and English.
QUALIFIERS = (
    r"bis\s+zu|rund|etwa|ca\.|circa|mehr\s+als|über|knapp|fast|mindestens|höchstens|weniger\s+als|"
    r"nahezu|annähernd|gut|insgesamt|"
    r"up\s+to|about|around|roughly|approximately|more\s+than|over|nearly|almost|at\s+least|at\s+most|"
    r"fewer\s+than|less\s+than|some"
)
# Words after a number that are part of its amount: scale, percent, currency.
SCALES = (
    r"Millionen|Million|Milliarden|Milliarde|Mio\.|Mrd\.|Billionen|Prozent|Prozentpunkte|%|"
    r"million|billion|trillion|percent|per\s+cent|"
    r"Euro|EUR|€|Dollar|US-Dollar|\$|Pfund|Franken|euros?|dollars?|pounds?"
)
# The words that join the two ends of a range; "und"/"and" only after "zwischen"/"between"
# ("2015 und 300 Menschen" is a list, "zwischen 2015 und 2018" a range).
_QUALIFIER_BEFORE = re.compile(rf"(?<!\w)(?:{QUALIFIERS})\s+$", re.IGNORECASE)
_RANGE_START_BEFORE = re.compile(
    rf"(?<![\w.,])(?:(?:zwischen|between)\s+({_NUM})\s*(?:und|and)|({_NUM})\s*(?:bis|-|–|to|or|oder))\s*$",
    re.IGNORECASE,
)
_RANGE_END_AFTER = re.compile(rf"^\s*(?:bis|-|–|to)\s*(?:{_NUM})(?![\d])", re.IGNORECASE)
_BETWEEN_END_AFTER = re.compile(rf"^\s*(?:und|and)\s*(?:{_NUM})(?![\d])", re.IGNORECASE)
_BETWEEN_BEFORE = re.compile(r"(?<!\w)(?:zwischen|between)\s+$", re.IGNORECASE)
_SCALE_AFTER = re.compile(rf"^\s*(?:{SCALES})(?!\w)", re.IGNORECASE)
_STARTS_WITH_NUMBER = re.compile(rf"^(?:{_NUM})")
_ENDS_WITH_NUMBER = re.compile(rf"(?:{_NUM})$")


def _locate(span: str, passage: str) -> tuple[int, int] | None:
    """Offsets of ``span`` in ``passage``, whitespace-insensitive; None when it is not there."""
    words = span.split()
    if not words:
        return None
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)")
    found = pattern.search(passage)
    return (found.start(), found.end()) if found else None


def whole_fact(span: str, passage: str) -> str:
    """``span`` widened in ``passage`` to the whole amount it is part of (range, qualifier, scale).

    A span without a number at its edges, or not found in the passage, comes back as it is.
    """
    span = span.strip()
    where = _locate(span, passage)
    if where is None:
        return span
    start, end = where
    if _STARTS_WITH_NUMBER.match(passage[start:end]):
        if before := _RANGE_START_BEFORE.search(passage[max(0, start - 40) : start]):
            start -= len(before.group(0))
        elif (between := _BETWEEN_BEFORE.search(passage[max(0, start - 12) : start])) and (
            after := _BETWEEN_END_AFTER.match(passage[end:])
        ):
            # "zwischen 1.500": the range's other end follows ("und 2.000").
            start -= len(between.group(0))
            end += after.end()
        if qualifier := _QUALIFIER_BEFORE.search(passage[max(0, start - 20) : start]):
            start -= len(qualifier.group(0))
    if _ENDS_WITH_NUMBER.search(passage[start:end]):
        if after := _RANGE_END_AFTER.match(passage[end:]):
            end += after.end()
        if scale := _SCALE_AFTER.match(passage[end:]):
            end += scale.end()
            # "1,2 Milliarden Euro": a currency after the scale belongs to the amount too.
            if currency := _SCALE_AFTER.match(passage[end:]):
                end += currency.end()
    return " ".join(passage[start:end].split())

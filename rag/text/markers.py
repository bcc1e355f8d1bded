"""Citation markers: the ``[n]`` an answer cites passage n with, in one place.

Usage::

    from rag.text.markers import MARKER, marker_numbers, strip_markers
    marker_numbers("Kursk [1][2], Moskau [2, 3]")   # [1, 2, 3]
    strip_markers("10.000 bis 12.000 [1].")          # "10.000 bis 12.000."
"""

from __future__ import annotations

import re

# A marker as newsqa writes it and the chat links it: [1] or [1, 2]; group 1 holds the numbers.
MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")

# A marker as a small model may write it: also "[Passage 2]", "[Quelle 2]" and "[#2]".
LOOSE_MARKER = re.compile(r"\[(?:passage\s*|quelle\s*|#)?(\d{1,3}(?:\s*,\s*\d{1,3})*)\]", re.IGNORECASE)


def marker_numbers(text: str, pattern: re.Pattern[str] = MARKER) -> list[int]:
    """The passage numbers cited in ``text``, in order of first appearance, without repeats."""
    seen: list[int] = []
    for match in pattern.finditer(text):
        for part in match.group(1).split(","):
            n = int(part)
            if n not in seen:
                seen.append(n)
    return seen


def strip_markers(text: str, pattern: re.Pattern[str] = MARKER) -> str:
    """``text`` without its markers and the space before them."""
    return re.sub(r"\s*" + pattern.pattern, "", text, flags=pattern.flags).strip()

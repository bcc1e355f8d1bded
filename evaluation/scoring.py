"""Scoring one answer against its gold answers: SQuAD-style exact match and token F1, numbers as numbers.

Usage::

    f1("10,000 to 12,000 soldiers [1]", ["10.000 bis 12.000"])   # numbers match across conventions
    exact_match("The Panthers", ["Panthers"])                    # -> 1.0 (articles are dropped)
    numbers_in("1,2 Millionen Euro")                             # -> {1200000.0}

The normalisation is SQuAD's (lower case, punctuation deleted, no articles, single spaces), extended for
a cross-lingual product: German articles are dropped too, and every number becomes one canonical
token, so "10.000" (German), "10,000" (English) and "10000" score the same, and "1,2 Millionen"
equals "1.2 million".
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable

from rag.text.markers import MARKER

_ARTICLES = {
    "a",
    "an",
    "the",
    "der",
    "die",
    "das",
    "den",
    "dem",
    "des",
    "ein",
    "eine",
    "einen",
    "einem",
    "einer",
    "eines",
}
_SCALES = {
    "thousand": 1e3,
    "tausend": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "millionen": 1e6,
    "mio": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "milliarde": 1e9,
    "milliarden": 1e9,
    "mrd": 1e9,
}
_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "null": 0,
    "eins": 1,
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "fünf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "neun": 9,
    "zehn": 10,
    "elf": 11,
    "zwölf": 12,
}
# A written number: digit groups joined by "." / "," / thin spaces, an optional fraction, and an
# ordinal or plural tail ("16th", "1990s") that does not change its value. "1.500" is fifteen hundred
# in German and "1.5" one and a half in English: exactly three digits after a separator are a thousands
# group, anything else a fraction; a group never leads with 0 ("0.125") or four digits ("2014.5").
_NUMBER = re.compile(r"(?<![\w])([1-9]\d{0,2}(?:[.,\u202f\u00a0]\d{3})+|\d+)(?:[.,](\d+))?(?:st|nd|rd|th|s)?(?![\w])")


def _number_value(whole: str, fraction: str | None) -> float:
    digits = re.sub(r"[.,\u202f\u00a0]", "", whole)
    return float(f"{digits}.{fraction}") if fraction else float(digits)


def _canonical(value: float) -> str:
    """``#value`` in plain decimals: ``_canonical(2.01 * 1e6) == "#2010000"``, ``_canonical(1.5) == "#1.5"``.

    Rounded to six decimals so float noise from scale words does not split equal numbers, and never in
    exponent notation (``f"{2010000.0000000002:g}"`` is ``"2.01e+06"``, which is not a number token).
    """
    return "#" + f"{round(value, 6):.6f}".rstrip("0").rstrip(".")


def _numbers_to_tokens(text: str) -> str:
    """Every number as one ``#value`` token (scale words folded in), before punctuation is removed."""

    def replace(match: re.Match[str]) -> str:
        return " " + _canonical(_number_value(match.group(1), match.group(2))) + " "

    text = _NUMBER.sub(replace, text)
    tokens = text.split()
    out: list[str] = []
    for token in tokens:
        bare = token.strip(string.punctuation + "„“”‚‘’«»").lower()
        if bare in _SCALES and out and _is_number_token(out[-1]):
            out[-1] = _canonical(float(out[-1][1:]) * _SCALES[bare])
        elif bare in _WORDS:
            out.append(_canonical(float(_WORDS[bare])))
        else:
            out.append(token)
    return " ".join(out)


def normalize(text: str) -> str:
    """SQuAD's answer normalisation, for English and German, with numbers as canonical tokens."""
    # Numbers first: NFKC turns the (narrow) no-break space of "12 000" into a plain space.
    text = _numbers_to_tokens(MARKER.sub(" ", text))
    text = unicodedata.normalize("NFKC", text).lower()
    # "#" too: a number token is kept whole below, so a "#" left elsewhere is the text's own ("#1").
    punctuation = set(string.punctuation + "„“”‚‘’«»–—…")
    tokens: list[str] = []
    for token in text.split():
        # A number token keeps its decimal point; every other token loses its punctuation.
        words = [token] if _is_number_token(token) else "".join(ch for ch in token if ch not in punctuation).split()
        tokens.extend(w for w in words if w not in _ARTICLES)
    return " ".join(tokens)


def numbers_in(text: str) -> set[float]:
    """The values of the numbers written in ``text``."""
    return {float(token[1:]) for token in normalize(text).split() if _is_number_token(token)}


def _is_number_token(token: str) -> bool:
    return token.startswith("#") and len(token) > 1 and token[1:].replace(".", "", 1).isdigit()


def _f1(prediction: str, gold: str) -> float:
    pred, ref = normalize(prediction).split(), normalize(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def f1(prediction: str, golds: Iterable[str]) -> float:
    """The best token F1 of ``prediction`` against any gold answer."""
    return max((_f1(prediction, g) for g in golds if g.strip()), default=0.0)


def exact_match(prediction: str, golds: Iterable[str]) -> float:
    """1.0 if ``prediction`` equals any gold answer after normalisation."""
    norm = normalize(prediction)
    return float(any(norm == normalize(g) for g in golds if g.strip()))


def is_numeric(golds: Iterable[str]) -> bool:
    """Whether the gold answer is a number (with at most a counted word or two around it)."""
    first = next((g for g in golds if g.strip()), "")
    tokens = normalize(first).split()
    return any(_is_number_token(t) for t in tokens) and len(tokens) <= 3


def numeric_exact(prediction: str, golds: Iterable[str]) -> bool:
    """Whether the prediction states every number of some gold answer (and is not a refusal)."""
    found = numbers_in(prediction)
    return any(numbers_in(g) and numbers_in(g) <= found for g in golds if g.strip())

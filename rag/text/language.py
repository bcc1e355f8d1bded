"""Which language a question is in, and the few fixed messages newsqa speaks in that language.

Usage::

    detect_language("Wie viele Soldaten wurden geschickt?")   # "de"
    message("not_found", "de")                               # "Dazu steht nichts in den Artikeln."

The LLM answers in the question's language by itself; this module is for what newsqa says without
the LLM (refusals, errors) and for naming the answer language in the prompt, which a 1.5B model
follows far more reliably than "answer in the language of the question".
"""

from __future__ import annotations

import re

# Frequent short words that tell the languages apart in a question of a few words.
_MARKERS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the a an of to in is are was were what who whom whose which when where why how many much "
        "did do does and or for on with by from at that this these those has have had it its be been "
        "not can could would should will there their they he she his her".split()
    ),
    "de": frozenset(
        "der die das den dem des ein eine einen einem einer und oder ist sind war waren wer wen wem "
        "wessen was wann wo warum wie viele viel welche welcher welches hat haben hatte wurde wurden "
        "nicht mit von zu im in auf für bei aus nach über um es sie er ihr ihre sich auch noch gibt "
        "seit als dass".split()
    ),
}
_UMLAUT = re.compile(r"[äöüßÄÖÜ]")

NAMES = {"en": "English", "de": "German"}

_MESSAGES: dict[str, dict[str, str]] = {
    "not_found": {
        "en": "The articles do not say.",
        "de": "Dazu steht nichts in den Artikeln.",
    },
    "empty_question": {
        "en": "Please type a question.",
        "de": "Bitte geben Sie eine Frage ein.",
    },
    "too_long": {
        "en": "That question is too long ({length} characters, at most {limit}). Please shorten it.",
        "de": "Die Frage ist zu lang ({length} Zeichen, höchstens {limit}). Bitte kürzen Sie sie.",
    },
    "unsupported_numbers": {
        "en": "Not found in the cited passages: {numbers}",
        "de": "Nicht in den zitierten Passagen belegt: {numbers}",
    },
}


def detect_language(text: str, default: str = "en") -> str:
    """``"en"`` or ``"de"`` for a question; ``default`` when nothing tells them apart."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    scores = {lang: sum(w in markers for w in words) for lang, markers in _MARKERS.items()}
    scores["de"] += 2 * len(_UMLAUT.findall(text))
    best = max(scores, key=lambda lang: scores[lang])
    tied = sum(score == scores[best] for score in scores.values()) > 1
    return default if tied or scores[best] == 0 else best


def message(key: str, language: str, **values: object) -> str:
    """A fixed user-facing message in ``language`` (English if there is no translation)."""
    texts = _MESSAGES[key]
    return texts.get(language, texts["en"]).format(**values)


# Unambiguous thousands groups as German writes them ("12.000", "1.234.567") and as English does.
_GERMAN_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:\.\d{3})+(?![\d.,]\d)")
_SPLIT_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:[.,] \d{3})+(?![\d])")
_ENGLISH_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d.,]\d)")


def localise_numbers(text: str, language: str) -> str:
    """Write thousands separators as the answer's language does: 12.000 -> 12,000 in English.

    The model is told to copy numbers exactly from the passage (a 1.5B model mangles numbers it
    reformats); the reformatting is done here, deterministically. Only whole thousands groups are
    touched, never decimals, so "3,5" or "1.5" keep their meaning.
    """
    # Small models sometimes print "12, 000" or "12. 000": one number, not two.
    text = _SPLIT_THOUSANDS.sub(lambda m: re.sub(r"\s+", "", m.group(0)), text)
    if language == "en":
        return _GERMAN_THOUSANDS.sub(lambda m: m.group(0).replace(".", ","), text)
    if language == "de":
        return _ENGLISH_THOUSANDS.sub(lambda m: m.group(0).replace(",", "."), text)
    return text

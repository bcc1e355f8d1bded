"""Which language a question is in, and the few fixed messages newsqa speaks in that language.

Usage::

    detect_language("Wie viele Soldaten wurden geschickt?")   # "de"
    message("not_answered", "de", question="Wie alt ist er?")  # "Die Artikel beantworten „Wie alt ist er?“ nicht."

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
        "seit als dass welchem welchen worauf woran womit wofür wodurch".split()
    ),
    # A question in a third language is answered and refused in that language, never taken for English.
    "fr": frozenset(
        "le la les des du une est sont était étaient qui que quoi quel quelle quels quelles combien "
        "pourquoi comment où quand avec pour dans sur par pas ont été il elle ils elles au aux ce "
        "cette ces leur se ne qu est-ce".split()
    ),
    "es": frozenset(
        "el los las del una es son fue fueron qué quién quiénes cuál cuáles cuántos cuántas cuánto "
        "cómo dónde cuándo por con para sobre han ha su sus lo al y muchos muchas la".split()
    ),
    "it": frozenset(
        "il lo gli dei degli delle della è sono era erano chi che cosa quale quali quanti quante "
        "quanto come dove quando perché con per non hanno ha suo sua nel nella alla ai la del".split()
    ),
}
# Letters only one of the languages writes (several of them tell little apart: à is French and Italian).
_LETTERS: dict[str, re.Pattern[str]] = {
    "de": re.compile(r"[äöüßÄÖÜ]"),
    "fr": re.compile(r"[çêëîïôûœÇÊÎÔ]"),
    "es": re.compile(r"[ñ¿¡áíóúÑ]"),
}

NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian"}

_MESSAGES: dict[str, dict[str, str]] = {
    "not_answered": {
        "en": "The articles do not answer “{question}”.",
        "de": "Die Artikel beantworten „{question}“ nicht.",
        "fr": "Les articles ne répondent pas à « {question} ».",
        "es": "Los artículos no responden a «{question}».",
        "it": "Gli articoli non rispondono a «{question}».",
    },
    "closest_article": {
        "en": "The closest article is “{title}” ({source}).",
        "de": "Am nächsten kommt der Artikel „{title}“ ({source}).",
        "fr": "L'article le plus proche est « {title} » ({source}).",
        "es": "El artículo más cercano es «{title}» ({source}).",
        "it": "L'articolo più vicino è «{title}» ({source}).",
    },
    "waiting": {
        "en": "Waiting for the model: {ahead} answer(s) to other questions come first …",
        "de": "Warten auf das Modell: zuerst {ahead} Antwort(en) auf andere Fragen …",
        "fr": "En attente du modèle : {ahead} réponse(s) à d'autres questions d'abord …",
        "es": "Esperando al modelo: primero {ahead} respuesta(s) a otras preguntas …",
        "it": "In attesa del modello: prima {ahead} risposta/e ad altre domande …",
    },
    "reading": {
        "en": "Reading passage [{n}] of “{title}” ({source}) …",
        "de": "Lese Passage [{n}] aus „{title}“ ({source}) …",
        "fr": "Lecture du passage [{n}] de « {title} » ({source}) …",
        "es": "Leyendo el pasaje [{n}] de «{title}» ({source}) …",
        "it": "Lettura del passaggio [{n}] di «{title}» ({source}) …",
    },
    "empty_question": {
        "en": "Please type a question.",
        "de": "Bitte geben Sie eine Frage ein.",
        "fr": "Veuillez saisir une question.",
        "es": "Escriba una pregunta, por favor.",
        "it": "Scriva una domanda, per favore.",
    },
    "too_long": {
        "en": "That question is too long ({length} characters, at most {limit}). Please shorten it.",
        "de": "Die Frage ist zu lang ({length} Zeichen, höchstens {limit}). Bitte kürzen Sie sie.",
        "fr": "Cette question est trop longue ({length} caractères, au plus {limit}). Veuillez la raccourcir.",
        "es": "La pregunta es demasiado larga ({length} caracteres, como máximo {limit}). Acórtela, por favor.",
        "it": "La domanda è troppo lunga ({length} caratteri, al massimo {limit}). La accorci, per favore.",
    },
    "unsupported_numbers": {
        "en": "Not found in the cited passages: {numbers}",
        "de": "Nicht in den zitierten Passagen belegt: {numbers}",
        "fr": "Absent des passages cités : {numbers}",
        "es": "No consta en los pasajes citados: {numbers}",
        "it": "Non presente nei passaggi citati: {numbers}",
    },
}


def detect_language(text: str, default: str = "en") -> str:
    """``"en"``, ``"de"``, ``"fr"``, ``"es"`` or ``"it"`` for a question; ``default`` when nothing tells them apart."""
    words = re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)?", text.lower())
    scores = {lang: sum(w in markers for w in words) for lang, markers in _MARKERS.items()}
    for lang, letters in _LETTERS.items():
        scores[lang] += 2 * len(letters.findall(text))
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

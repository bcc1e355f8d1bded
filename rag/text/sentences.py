"""Sentence splitting for news text (German and English), with character offsets.

Shared by ingestion (chunks are packed from whole sentences) and answering (the quick answer is
one sentence of the best passage), so it lives in ``rag``, which never imports ``ingest``.

Usage::

    from rag.text.sentences import split_sentences
    split_sentences("Es kamen ca. 12.000 Soldaten. Das ist z. B. viel.")  # [(0, 29), (30, 49)]
"""

from __future__ import annotations

import re

#: The ``kind`` of an index record that holds one sentence of a passage: ingestion writes them beside
#: the passages (``NEWSQA_SENTENCE_VECTORS``), retrieval searches them apart from the passages.
SENTENCE = "sentence"
#: A sentence record needs this many words to say something a question could ask about.
MIN_SENTENCE_WORDS = 2
#: Longer "sentences" (tables, run-on lines) are split over passages anyway; their passages suffice.
MAX_SENTENCE_CHARS = 1000
#: Closing quotes and brackets that may follow sentence punctuation.
CLOSERS = "\"'”“»«›‹’)]"
# A run of sentence punctuation, any closing quotes/brackets, and then whitespace.
_CANDIDATE = re.compile(rf"[.!?…]+[{re.escape(CLOSERS)}]*(?=\s)")
_OPENERS = "\"'„“«»‹›‘([¿¡"

# Abbreviations (lower case, without the final period) that never end a sentence. "usw." and
# "etc." can, but splitting inside a sentence hurts retrieval more than a long sentence does.
_ABBREVIATIONS = frozenset(
    """
    bzw ca usw etc vgl sog evtl ggf inkl exkl zzgl bspw insb jh jhd jhdt hr hrn frl prof dipl ing
    mag dr dres st str wr ch tel mio mrd mind gem geb gest ehem einschl lt ggü ebd sen jun hl
    kath ev dt engl franz ital lat bzgl allg betr usf zit hrsg aufl anm verf vors gebr nr präs
    mr mrs ms jr sr vs gov rep gen col sgt capt cmdr adm approx dept est
    """.split()
)
# Abbreviations that only count when a number follows: "Art. 5", "S. 12", "Jan. 3".
_BEFORE_NUMBER = frozenset(
    """
    art abs kap tab abb fig no vol s p pp max min ziff
    jan feb mar apr jun jul aug sep sept oct okt nov dec dez
    """.split()
)
# Words after "<number>." that make the number an ordinal: "3. Oktober", "20. Jahrhundert".
_ORDINAL_NEXT = re.compile(
    r"(?:Jän|Jan|Feb|März|Mär|Apr|Mai|May|Jun|Jul|Aug|Sep|Okt|Oct|Nov|Dez|Dec|Jahr|Minute|Runde|"
    r"Geburtstag|Quartal|Bezirk|Rang|Platz|Auflage|Lebensjahr|Halbjahr|Spieltag|Liga|Bundesliga|"
    r"Mal|Stock|Etappe|Klasse|Stelle|Saison|Lauf|Tag|Woche|Monat|Sitzung|Kongress|Parteitag|"
    r"Division|Armee|Sinfonie|Symphonie|Kapitel|Etage|Todestag|Weltkrieg|Amtszeit|Halbzeit|"
    r"Durchgang|Satz|Spiel|Sieg|Tor|Ausgabe|Staffel|Folge|Legislatur|Gemeindebezirk|FC)"
)
# Words before "<number>." that make it an ordinal: "am 3.", "im 20.", "seinem 80.".
_ORDINAL_BEFORE = frozenset(
    """
    der die das dem den des im am zum zur vom beim ins ans seit ab bis
    sein seine seinem seinen seiner seines ihr ihre ihrem ihren ihrer ihres unserem unseren
    """.split()
)
# "16. 5. 2016": a day before the month number makes a date, not a sentence end.
_DAY_OF_MONTH = re.compile(r"\(?\d{1,2}\.")
_LIST_LEADERS = frozenset({"–", "-", "—", "•", "*"})
_ELLIPSES = ("…", "...")
# Longer "words" are no abbreviations or numbers; also bounds the look back before a number.
_MAX_WORD_CHARS = 40


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences in ``text``, whitespace excluded.

    Usage: ``[text[s:e] for s, e in split_sentences(text)]``

    A line break always ends a sentence (in news text it separates paragraphs and sub-headings).
    Abbreviations ("z. B.", "Dr.", "bzw."), initials ("J. R. R."), numbers ("12.000", "3.5"),
    ordinals ("am 3. Oktober") and a lower-case continuation ('"Wohin?" fragte er') do not.
    """
    spans: list[tuple[int, int]] = []
    line_start = 0
    length = len(text)
    while line_start <= length:
        line_end = text.find("\n", line_start)
        if line_end < 0:
            line_end = length
        _line_sentences(text, line_start, line_end, spans)
        line_start = line_end + 1
    return spans


def _line_sentences(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    sentence_start = start
    for match in _CANDIDATE.finditer(text, start, end):
        following = skip_space(text, match.end(), end)
        if following >= end:
            break  # the line end closes this sentence anyway
        if _ends_sentence(text, match, following, sentence_start, start):
            _add_span(text, sentence_start, match.end(), spans)
            sentence_start = following
    _add_span(text, sentence_start, end, spans)


def skip_space(text: str, pos: int, end: int) -> int:
    """The first non-space position at or after ``pos`` (``end`` if none)."""
    while pos < end and text[pos].isspace():
        pos += 1
    return pos


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def _ends_sentence(text: str, match: re.Match[str], following: int, sentence_start: int, line_start: int) -> bool:
    """Whether the punctuation in ``match`` ends the sentence; ``following`` is the next char."""
    next_char = text[following]
    # A new sentence starts upper-case (or with a digit or quote); lower case means it goes on.
    if next_char.islower():
        return False
    punct = match.group().rstrip(CLOSERS)
    if punct.endswith(_ELLIPSES):
        return not _inside_omission_or_quote(text, sentence_start, match.start())
    if punct != ".":
        return True
    # The word before the period; rsplit from the right is the fast way to find it in C.
    word_start = max(line_start, match.start() - _MAX_WORD_CHARS - 1)
    before = text[word_start : match.start()]
    if not before or before[-1].isspace():
        return True
    raw_word = before.rsplit(None, 1)[-1]
    if len(raw_word) > _MAX_WORD_CHARS:
        return True
    word_start = match.start() - len(raw_word)
    word = raw_word.lstrip(_OPENERS)
    if not word:
        return True
    lower = word.lower()
    if lower in _ABBREVIATIONS:
        return False
    if lower in _BEFORE_NUMBER and next_char.isdigit():
        return False
    if len(word) == 1 and word.isalpha():
        return False  # an initial ("J. R. R. Tolkien") or "z. B." / "d. h."
    if "." in word and all(0 < len(part) <= 2 and part.isalpha() for part in word.split(".")):
        return False  # "z.B.", "u.a.", "e.g.", "U.S."
    if word.isdigit() and len(word) <= 3:
        return not _is_ordinal(text, word_start, following, line_start)
    return True


def _is_ordinal(text: str, number_start: int, following: int, line_start: int) -> bool:
    """Whether the "<number>." at ``number_start`` is an ordinal or list number, not an end."""
    if _ORDINAL_NEXT.match(text, following):
        return True
    before = text[max(line_start, number_start - _MAX_WORD_CHARS) : number_start].rstrip()
    if not before:
        return True  # "1. Punkt" at the start of a line: a numbered list
    previous = before.rsplit(None, 1)[-1]
    return (
        previous.lower() in _ORDINAL_BEFORE
        or previous in _LIST_LEADERS
        or previous.endswith((":", ","))
        or (text[following].isdigit() and _DAY_OF_MONTH.fullmatch(previous) is not None)
    )


def _inside_omission_or_quote(text: str, sentence_start: int, ellipsis_start: int) -> bool:
    """An ellipsis marking an omission ("[…]") or trailing off inside an open quotation."""
    if ellipsis_start > 0 and text[ellipsis_start - 1] in "[(":
        return True
    so_far = text[sentence_start:ellipsis_start]
    german_open = so_far.count("„") > so_far.count("“")
    english_open = "„" not in so_far and so_far.count("“") > so_far.count("”")
    guillemet_open = (so_far.count("«") + so_far.count("»")) % 2 == 1
    straight_open = so_far.count('"') % 2 == 1
    return german_open or english_open or guillemet_open or straight_open


def short_title(title: str, limit: int = 90) -> str:
    """A title's first sentence, whitespace collapsed, cut at a word to ``limit`` characters.

    Usage: ``short_title("Nun ist es offiziell: ... Russland. Nordkorea hat ...")  # first sentence only``
    """
    first = re.split(r"(?<=[.!?])\s", " ".join(title.split()), maxsplit=1)[0]
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + " …"


def is_sentence_record(text: str) -> bool:
    """Whether ingestion gives this sentence a record (and retrieval may focus on it): neither too
    short to state a fact nor too long to be a sentence.

    Usage: ``is_sentence_record("Es kamen 12.000 Soldaten.")  # True``
    """
    return len(text) <= MAX_SENTENCE_CHARS and len(text.split()) >= MIN_SENTENCE_WORDS

"""Translating the answer phrase: the span copied from a German passage, into the question's language.

Usage::

    translator = Translator(own_context(chat_model))
    translator.run("als Weidefläche für Rinder", "en")   # "as pasture for cattle"
    translator.run("Kurt Coleman", "en")                 # names stay as they are

Answering is two steps because a 1.5B model does each well alone and both badly at once: asked to
answer an English question from a German passage in English, it answers with whole clauses and
leaves German words in them. Told to *copy* the shortest phrase (rag.answer.prompting) and then to
translate only that phrase, it measured EM 0.38 -> 0.58 and F1 0.53 -> 0.68 on XQuAD with the gold
paragraph (docs/quality.md). Doing both in one reply, or translating as a second turn of the
answer's conversation, measured worse (F1 0.49 and 0.31).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from rag.answer.prompting import few_shot_prompt
from rag.text.language import NAMES
from rag.text.numbers import find_numbers

log = logging.getLogger(__name__)

#: Translations kept per process: the same fact is asked for again (retries, follow-ups).
CACHE_SIZE = 1024

SYSTEM_PROMPT = """You translate a short phrase from a news article into {language}. Keep names and \
numbers exactly as written. Reply with the translation only."""

# Worked examples: a phrase with numbers, a plain one, and a name that stays as it is.
FEW_SHOT: list[tuple[str, str]] = [
    ("Zwischen 1.500 und 2.000 Kunden", "between 1.500 and 2.000 customers"),
    ("Booten und Pumpen", "boats and pumps"),
    ("Kardinal Christoph Schönborn", "Cardinal Christoph Schönborn"),
]


def build_prompt() -> ChatPromptTemplate:
    """Rules, the examples as earlier turns, then the phrase."""
    return few_shot_prompt(SYSTEM_PROMPT, "{phrase}", [dict(phrase=p, answer=a) for p, a in FEW_SHOT])


def clean_translation(raw: str, phrase: str) -> str:
    """The model's translation if it is usable, else ``phrase`` itself.

    Unusable: empty, far longer than the phrase (an explanation instead of a translation), or with
    other numbers than the phrase (a translated number must stay the number the passage states).
    A translation that only changed the case is dropped too: names keep the article's spelling.
    """
    lines = [line.strip() for line in raw.strip().splitlines() if line.strip()]
    text = lines[0].strip("\"'„“”«»").strip() if lines else ""
    text = re.sub(r"^(?:translation|übersetzung)\s*:\s*", "", text, flags=re.IGNORECASE)
    text = text.strip("\"'„“”«»").strip()  # quotes after a label: 'Translation: "..."'
    if not text or len(text) > 3 * len(phrase) + 40 or text.lower() == phrase.lower():
        return phrase
    said, wrote = find_numbers(phrase), find_numbers(text)
    if len(said) != len(wrote) or any(not any(n.matches(s) for s in said) for n in wrote):
        return phrase
    return text


# German words that qualify, join or scale an amount, in English. A phrase made only of these and of
# numbers is translated here, word by word: exactly, instantly, and with its meaning kept ("bis zu" is
# "up to", never "until"), where the 1.5B model turned "Tausende" into "tens of thousands".
AMOUNT_WORDS_EN: dict[str, str] = {
    "bis zu": "up to",
    "rund": "about",
    "etwa": "about",
    "ca.": "about",
    "circa": "about",
    "mehr als": "more than",
    "über": "over",
    "knapp": "almost",
    "fast": "almost",
    "nahezu": "nearly",
    "annähernd": "nearly",
    "mindestens": "at least",
    "höchstens": "at most",
    "weniger als": "fewer than",
    "insgesamt": "a total of",
    "zwischen": "between",
    "und": "and",
    "bis": "to",
    "oder": "or",
    "millionen": "million",
    "million": "million",
    "mio.": "million",
    "milliarden": "billion",
    "milliarde": "billion",
    "mrd.": "billion",
    "billionen": "trillion",
    "prozent": "percent",
    "prozentpunkte": "percentage points",
    "%": "%",
    "euro": "euros",
    "eur": "euros",
    "€": "euros",
    "dollar": "dollars",
    "us-dollar": "US dollars",
    "$": "dollars",
    "pfund": "pounds",
    "franken": "francs",
    "-": "to",
    "–": "to",
}
_AMOUNT_NUMBER = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?")
_AMOUNT_WORD = re.compile(
    "|".join(re.escape(w) for w in sorted(AMOUNT_WORDS_EN, key=len, reverse=True)).replace("\\ ", r"\s+"),
    re.IGNORECASE,
)


def _english_number(german: str) -> str:
    """``"10.000"`` -> ``"10,000"``, ``"1,2"`` -> ``"1.2"``, ``"1.234,5"`` -> ``"1,234.5"``."""
    integer, _, fraction = german.partition(",")
    integer = integer.replace(".", ",")
    return f"{integer}.{fraction}" if fraction else integer


def translate_amount(phrase: str, target: str) -> str | None:
    """A German amount phrase ("rund 4.000", "10.000 bis 12.000", "1,2 Milliarden Euro") in English,
    word by word; None when ``target`` is not English or the phrase holds other words.

    Usage: ``translate_amount("Bis zu 12.000", "en")  # "Up to 12,000"``
    """
    if target != "en":
        return None
    out: list[str] = []
    rest = phrase.strip()
    while rest:
        if number := _AMOUNT_NUMBER.match(rest):
            out.append(_english_number(number.group(0)))
            rest = rest[number.end() :].lstrip()
        elif (word := _AMOUNT_WORD.match(rest)) and not re.match(r"\w", rest[word.end() : word.end() + 1]):
            out.append(AMOUNT_WORDS_EN[" ".join(word.group(0).lower().split())])
            rest = rest[word.end() :].lstrip()
        else:
            return None
    if not any(_AMOUNT_NUMBER.fullmatch(w.replace(",", "").replace(".", "")) for w in out):
        return None  # no number: not an amount
    text = " ".join(out).replace(" %", "%")
    return text[:1].upper() + text[1:] if phrase[:1].isupper() else text


class Translator:
    """Phrase in, the phrase in another language out (cached; a LangChain runnable inside)."""

    def __init__(self, chat_model: BaseChatModel, max_tokens: int = 40) -> None:
        """
        Args:
            chat_model: the model that translates (a small context of its own suffices).
            max_tokens: longest translation; an answer phrase is a few words.
        """
        self.chain: Runnable = build_prompt() | chat_model.bind(stop=["\n"], max_tokens=max_tokens) | StrOutputParser()
        self.chat_model = chat_model
        self._cache: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def run(self, phrase: str, target: str) -> str:
        """``phrase`` in the language ``target`` (a code, e.g. "en"); ``phrase`` itself when newsqa
        cannot name that language or the model fails."""
        if (amount := translate_amount(phrase, target)) is not None:
            return amount
        if target not in NAMES or not re.search(r"[^\W\d_]", phrase):
            return phrase  # numbers alone need no translation
        key = (phrase, target)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        try:
            raw = self.chain.invoke({"phrase": phrase, "language": NAMES[target]})
        except Exception as exc:  # the quoted phrase is still a right answer, in the article's words
            log.warning("could not translate the answer: %s", exc)
            return phrase
        text = clean_translation(raw, phrase)
        with self._lock:
            self._cache[key] = text
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return text

    def warm_up(self) -> None:
        """Evaluate the fixed part of the prompt once, at start-up (see Answerer.warm_up)."""
        self.chain.invoke({"phrase": FEW_SHOT[0][0], "language": "English"})

"""Finishing: the model's reply becomes the checked :class:`~rag.answer.results.Answer` the reader sees.

The copied phrase gets the citation of the passage that holds it, is widened to the whole fact, put
into the question's language and checked by :mod:`rag.answer.citing`; a refusal, or a guess whose
numbers are in no passage, becomes newsqa's refusal with the closest article as a lead.

Usage::

    answer = finish_answer("How many soldiers?", "10.000 bis 12.000 Soldaten [2]", passages, "en", timings, translator)
    answer.answer, answer.quote, answer.citations[0].n   # "10,000 to 12,000 soldiers [2]", "10.000 bis ...", 2
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

from rag.answer.citing import check_answer
from rag.answer.completing import whole_fact
from rag.answer.prompting import NOT_FOUND, is_refusal
from rag.answer.quick import QuickAnswer, has_number
from rag.answer.results import Answer, Citation, Lead
from rag.answer.supporting import claim_for, sentence_with, supporting_span
from rag.answer.translating import Translator, translate_amount
from rag.retrieval.retrieving import Passage, passages_language
from rag.text.language import localise_numbers, message
from rag.text.markers import MARKER, marker_numbers, strip_markers
from rag.text.sentences import short_title

# A count is asked for ("how many tanks?"); the phrase that answers it states one: digits, a number
# word, or the words for one and none. A copied phrase without any is the model naming the thing
# instead of counting it ("Panzerhaubitzen"): not an answer.
_COUNT_QUESTION = re.compile(r"\b(?:how\s+many|wie\s+viele?|number\s+of|anzahl)\b", re.IGNORECASE)
_ONE_OR_NONE = re.compile(
    r"\b(?:one|single|none|no|eins?|eine[mnrs]?|einzige[mnrs]?|kein(?:e[mnrs]?)?)\b", re.IGNORECASE
)


def counts_nothing(question: str, phrase: str) -> bool:
    """Whether ``question`` asks how many and ``phrase`` states no count.

    Usage: ``counts_nothing("How many tanks?", "Panzerhaubitzen [1]")  # True``
    """
    if not _COUNT_QUESTION.search(question):
        return False
    words = strip_markers(phrase)
    return not (has_number(words) or _ONE_OR_NONE.search(words))


def refusal(question: str, language: str, lead: Lead | None) -> str:
    """What newsqa says when the articles do not answer ``question``, in its language, with the closest article.

    Usage: ``refusal("How much does Russia pay?", "en", lead)``
    -> ``The articles do not answer “How much does Russia pay?”. Closest article: “…” (nk.txt).``
    """
    said = message("not_answered", language, question=question)
    if lead is None:
        return said
    return f"{said} {message('closest_article', language, title=short_title(lead.title), source=lead.source)}"


def _squashed(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def grounded_markers(phrase: str, markers: str, passages: list[Passage]) -> str:
    """``markers``, or the marker of the first passage holding ``phrase`` word for word when no cited one does.

    The 1.5B model copies the right words but often writes the number of a neighbouring passage
    (a quarter of its citations on XQuAD); the copied words themselves say where they came from.

    Usage: ``grounded_markers("Kawann Short", " [3]", passages)  # -> " [1]" if only passage 1 has it``
    """
    wanted = _squashed(phrase)
    if len(wanted) < 2:
        return markers
    exact = re.compile(rf"(?<!\w){re.escape(wanted)}(?!\w)")
    holds = [i for i, p in enumerate(passages, start=1) if exact.search(_squashed(p.text))]
    cited = marker_numbers(markers)
    if not holds or any(n in holds for n in cited):
        return markers
    return f" [{holds[0]}]"


def split_citations(text: str) -> tuple[str, str]:
    """The words to translate and the markers to keep.

    Usage: ``split_citations("phrase [2]")  # -> ("phrase", " [2]")``
    """
    markers = "".join(f"[{n}]" for n in marker_numbers(text))
    phrase = strip_markers(text)
    return phrase, f" {markers}" if markers else ""


def in_language(raw: str, passages: list[Passage], language: str, translator: Translator | None) -> tuple[str, str]:
    """The copied phrase, widened to the whole fact it is part of, in the question's language with
    its citations; and the phrase as the passage writes it.

    Usage: ``in_language("bis zu 12.000 [1]", passages, "en", translator)  # ("up to 12.000 [1]", "bis zu 12.000")``
    """
    if not passages:
        return raw, ""
    phrase, markers = split_citations(raw.splitlines()[0])
    if not phrase:
        return raw, ""
    markers = grounded_markers(phrase, markers, passages)
    cited = [passages[n - 1] for n in marker_numbers(markers) if 0 < n <= len(passages)]
    if cited:
        phrase = whole_fact(phrase, cited[0].text)
    # Only across languages: a German phrase answers a German question as it is.
    if passages_language(cited or passages[:1]) == language:
        return phrase + markers, phrase
    if translator is not None:
        return translator.run(phrase, language) + markers, phrase
    # An amount needs no model: "Bis zu 12.000" is "Up to 12,000" even without a translator.
    return (translate_amount(phrase, language) or phrase) + markers, phrase


def support_for(answer: str, quote: str, n: int, passage: Passage) -> QuickAnswer | None:
    """The sentence of passage ``n`` that holds the quoted words, else the one that best backs the claim.

    Usage: ``support_for("10,000 to 12,000 soldiers [2]", "10.000 bis 12.000 Soldaten", 2, passages[1])``
    """
    span = sentence_with(quote, passage.text) or supporting_span(claim_for(answer, n), passage.text)
    if span is None:
        return None
    start, end = span
    return QuickAnswer(
        passage.text[start:end], n, start, end, passage.name, passage.title, passage.source, passage.score
    )


def finish_answer(
    question: str,
    raw: str,
    passages: list[Passage],
    language: str,
    timings: dict[str, float],
    translator: Translator | None,
) -> Answer:
    """The checked answer to ``question`` from the model's ``raw`` reply to ``passages``.

    Translating adds ``timings["translate"]`` (and to ``timings["total"]``).

    Usage: ``finish_answer(question, "NOT FOUND", passages, "en", timings, None).refused  # True``
    """
    raw = raw.strip()
    if raw.lower().startswith("answer:"):
        raw = raw[len("answer:") :].strip()
    quote = ""
    if counts_nothing(question, raw):
        raw = NOT_FOUND
    if not is_refusal(raw):
        started = time.perf_counter()
        raw, quote = in_language(raw, passages, language, translator)
        timings["translate"] = (time.perf_counter() - started) * 1000
        timings["total"] += timings["translate"]
    raw = localise_numbers(raw, language)
    checked = check_answer(raw, [p.text for p in passages], question)
    # A guess the model did not flag: every number it gave is in no passage it was shown.
    if is_refusal(raw) or checked.unfounded:
        lead = Lead.of(passages[0]) if passages else None
        return Answer(question, refusal(question, language, lead), True, [], [], timings, language, passages, lead=lead)
    citations = [Citation.of(n, passages[n - 1]) for n in checked.cited]
    first = checked.cited[0] if checked.cited else None
    support = support_for(checked.answer, quote, first, passages[first - 1]) if first else None
    return Answer(
        question=question,
        answer=checked.answer,
        refused=False,
        citations=citations,
        unsupported_numbers=checked.unsupported,
        timings_ms=timings,
        language=language,
        passages=passages,
        quote=quote,
        support=support,
    )


def renumbered(answer: Answer, n: int, passages: list[Passage]) -> Answer:
    """``answer``, read from ``passages[n - 1]`` alone as its passage [1], cited as passage [n] of ``passages``.

    The cascade hands the model one evidence at a time, always as [1]; the reader sees every evidence
    numbered as the instant answer numbers them, so the citation keeps pointing at the one read.

    Usage: ``renumbered(finish_answer(q, "Kursk [1]", [evidences[1]], ...), 2, evidences).citations[0].n  # 2``
    """
    answer.answer = MARKER.sub(f"[{n}]", answer.answer)
    answer.citations = [replace(c, n=n) for c in answer.citations]
    if answer.support is not None:
        answer.support = replace(answer.support, passage=n)
    answer.passages = passages
    return answer

"""Citing: check an answer's ``[n]`` citations and numbers against the passages the model was given.

Usage::

    checked = check_answer("10,000 to 12,000 soldiers [1] [7]", passages=["... 10.000 bis 12.000 ..."])
    checked.answer            # "10,000 to 12,000 soldiers [1]"  ([7] was never given to the model)
    checked.cited             # [1]
    checked.unsupported       # []  (12,000 == 12.000 as numbers)

Small models print numbers in many ways ("12.000", "12,000", "12 000", "12, 000") and sometimes drop
or invent citations, so nothing the model writes is trusted until it is checked here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# A citation marker: [1], [1, 2], [1,2,3]; also tolerates "[Passage 2]" and "[#2]".
_CITATION = re.compile(r"\[(?:passage\s*|quelle\s*|#)?(\d{1,3}(?:\s*,\s*\d{1,3})*)\]", re.IGNORECASE)

# A number as people (and small models) write it: optional sign, digits with thousands groups
# separated by ".", ",", a space, a narrow space or "', '" (as in "12, 000"), and an optional
# decimal part. Groups after the first must have exactly three digits.
_NUMBER = re.compile(
    r"(?<![\w.,])"  # not the tail of a word or of a longer number
    r"[-−]?\d{1,3}(?:(?:[.,'’]\s?|[\u00a0\u202f ])\d{3})+(?:[.,]\d+)?(?![\d])"
    r"|(?<![\w.,])[-−]?\d+(?:[.,]\d+)?(?![\d])"
)


@dataclass(frozen=True)
class NumberMention:
    """A number as written, with every value it can mean (``12.000`` is 12000 in German, 12 in English)."""

    text: str
    values: frozenset[float]

    def matches(self, other: NumberMention) -> bool:
        return not self.values.isdisjoint(other.values)


@dataclass(frozen=True)
class CheckedAnswer:
    """The answer after checking: invalid citations removed, numbers compared with the cited passages."""

    answer: str
    cited: list[int]
    unsupported: list[str] = field(default_factory=list)  # numbers in none of the cited passages
    attached: bool = False  # True when no valid citation was given and the best passage was attached
    recited: bool = False  # True when citations were moved to the passages that hold the numbers
    numbers: list[str] = field(default_factory=list)  # the answer's own numbers (not the question's)
    invented: list[str] = field(default_factory=list)  # numbers in no passage the model was given

    @property
    def unfounded(self) -> bool:
        """The answer rests on numbers and every one of them is in no passage: a guess."""
        return bool(self.numbers) and len(self.invented) == len(self.numbers)


def _values(raw: str) -> frozenset[float]:
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
    text = _CITATION.sub(" ", text)
    mentions = []
    for match in _NUMBER.finditer(text):
        raw = match.group(0).strip()
        values = _values(raw)
        if values:
            mentions.append(NumberMention(raw, values))
    return mentions


def numbers_supported(answer: str, sources: Sequence[str]) -> list[str]:
    """The numbers in ``answer`` that appear in none of ``sources`` (compared as numbers)."""
    known = [n for source in sources for n in find_numbers(source)]
    return [n.text for n in find_numbers(answer) if not any(n.matches(k) for k in known)]


def cited_numbers(answer: str) -> list[int]:
    """The passage numbers cited in ``answer``, in order of first appearance, without repeats."""
    seen: list[int] = []
    for match in _CITATION.finditer(answer):
        for part in match.group(1).split(","):
            n = int(part)
            if n not in seen:
                seen.append(n)
    return seen


def _drop_invalid(answer: str, valid: set[int]) -> str:
    def keep(match: re.Match[str]) -> str:
        ids = [int(p) for p in match.group(1).split(",") if int(p) in valid]
        return "".join(f"[{n}]" for n in ids)

    cleaned = _CITATION.sub(keep, answer)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip()


def _support(answer: str, passage: str) -> float:
    """How well a passage supports an answer: shared numbers count most, then shared words."""
    numbers = find_numbers(answer)
    passage_numbers = find_numbers(passage)
    number_hits = sum(any(n.matches(p) for p in passage_numbers) for n in numbers)
    words = {w for w in re.findall(r"\w{4,}", answer.lower())}
    word_hits = sum(w in passage.lower() for w in words)
    return 10.0 * number_hits + word_hits


def best_supporting(answer: str, passages: Sequence[str]) -> int:
    """1-based number of the passage that best supports ``answer``; ties go to the higher-ranked one."""
    scores = [_support(answer, p) for p in passages]
    return max(range(len(passages)), key=lambda i: (scores[i], -i)) + 1


def _recite(answer: str, numbers: list[str], passages: Sequence[str], cited: list[int]) -> list[int]:
    """Citations that hold the answer's numbers: small models often cite a neighbouring passage.

    Cited passages that hold none of the numbers are dropped; for each number no cited passage
    holds, the best-ranked passage that does is cited instead.
    """
    mentions = [m for m in find_numbers(answer) if m.text in numbers]
    holds = {i: find_numbers(passages[i - 1]) for i in range(1, len(passages) + 1)}

    def has(i: int, m: NumberMention) -> bool:
        return any(m.matches(k) for k in holds[i])

    kept = [c for c in cited if any(has(c, m) for m in mentions)]
    for m in mentions:
        if not any(has(c, m) for c in kept):
            kept += [i for i in holds if has(i, m)][:1]
    return kept or cited


def collapse_repeats(answer: str) -> str:
    """``"Kursk [1], Kursk [2]"`` -> ``"Kursk [1][2]"``: one answer found in several passages."""
    pieces = [p.strip() for p in re.split(r"(?<=\])\s*[,;]\s*", answer.strip()) if p.strip()]
    bodies = {_CITATION.sub("", p).strip(" .") for p in pieces}
    if len(pieces) < 2 or len(bodies) != 1:
        return answer
    markers = "".join(f"[{n}]" for n in cited_numbers(answer))
    return f"{bodies.pop()} {markers}"


def check_answer(answer: str, passages: Sequence[str], question: str = "") -> CheckedAnswer:
    """Check citations and numbers of ``answer`` against the 1-based numbered ``passages``.

    - citations to passages the model was not given are removed;
    - an answer left with no citation gets the best-supporting passage attached (never a made-up one);
    - a citation of a passage that lacks the answer's numbers moves to the given passage that has
      them (the model saw both; it only pointed at the wrong one);
    - numbers that appear in none of the cited passages are returned as unsupported. Numbers the
      user wrote in the question are the user's, not claims of the model, and are not checked.
    """
    valid = set(range(1, len(passages) + 1))
    cleaned = collapse_repeats(_drop_invalid(answer, valid))
    cited = [n for n in cited_numbers(cleaned) if n in valid]
    numbers = numbers_supported(cleaned, [question]) if question else [n.text for n in find_numbers(cleaned)]
    attached = recited = False
    if numbers and passages:
        better = _recite(cleaned, numbers, passages, cited)
        if better != cited:
            body = _CITATION.sub("", cleaned).rstrip()
            end = body[-1] if body and body[-1] in ".!?" else ""
            body = re.sub(r"\s+([.,;:!?])", r"\1", body[: len(body) - len(end)]).rstrip()
            cleaned = f"{body} {''.join(f'[{n}]' for n in better)}{end}"
            cited, recited = better, bool(cited)
            attached = not recited
    if not cited and passages and cleaned:
        best = best_supporting(cleaned, passages)
        body, end = (cleaned[:-1], cleaned[-1]) if cleaned[-1] in ".!?" else (cleaned, "")
        cleaned = f"{body} [{best}]{end}"
        cited, attached = [best], True
    return CheckedAnswer(
        answer=cleaned,
        cited=cited,
        unsupported=numbers_supported(cleaned, [passages[n - 1] for n in cited] + [question]),
        attached=attached,
        recited=recited,
        numbers=numbers,
        invented=numbers_supported(cleaned, [*passages, question]),
    )

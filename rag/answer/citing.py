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

from rag.text.markers import LOOSE_MARKER, marker_numbers
from rag.text.numbers import NumberMention, find_numbers, support_score, unsupported_numbers


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


def _drop_invalid(answer: str, valid: set[int]) -> str:
    def keep(match: re.Match[str]) -> str:
        ids = [int(p) for p in match.group(1).split(",") if int(p) in valid]
        return "".join(f"[{n}]" for n in ids)

    cleaned = LOOSE_MARKER.sub(keep, answer)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip()


def best_supporting(answer: str, passages: Sequence[str]) -> int:
    """1-based number of the passage that best supports ``answer``; ties go to the higher-ranked one."""
    scores = [support_score(answer, p) for p in passages]
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
    bodies = {LOOSE_MARKER.sub("", p).strip(" .") for p in pieces}
    if len(pieces) < 2 or len(bodies) != 1:
        return answer
    markers = "".join(f"[{n}]" for n in marker_numbers(answer, LOOSE_MARKER))
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
    cited = [n for n in marker_numbers(cleaned, LOOSE_MARKER) if n in valid]
    numbers = unsupported_numbers(cleaned, [question]) if question else [n.text for n in find_numbers(cleaned)]
    attached = recited = False
    if numbers and passages:
        better = _recite(cleaned, numbers, passages, cited)
        if better != cited:
            body = LOOSE_MARKER.sub("", cleaned).rstrip()
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
        unsupported=unsupported_numbers(cleaned, [passages[n - 1] for n in cited] + [question]),
        attached=attached,
        recited=recited,
        numbers=numbers,
        invented=unsupported_numbers(cleaned, [*passages, question]),
    )

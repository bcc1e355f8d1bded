"""The README's first example is what `newsqa ask` prints on the shipped article, with the real models.

The example is read from the README itself (its code block that starts with ``$ newsqa ask "…"``), so
editing either the README or the product without the other fails here.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import pytest

from tests.conftest import ROOT, newsqa

pytestmark = [pytest.mark.llm, pytest.mark.slow]

#: ``[3] Title — file.txt`` or ``[3] Title — file.pdf, pp. 3–4``: a cited passage's heading line (the
#: passage only the instant answer quoted ends in "(quoted by the instant answer)" and is not a citation).
CITATION = re.compile(r"^\[(\d+)\] .* — (\S.*?)(?:, (?:p\.|pp\.|¶) .*)?$")
QUOTED = "(quoted by the instant answer)"


@dataclass(frozen=True)
class Printed:
    """What ``newsqa ask`` prints, in the parts a reader sees: instant answer, answer, cited files."""

    instant: str
    answer: str
    cited: list[tuple[int, str]]


def parse(output: str) -> Printed:
    """The parts of ``newsqa ask``'s output (the README's example, or the command's own stdout)."""
    lines = [line for line in output.splitlines() if line.strip()]
    instant = next((line for line in lines if line.startswith("» ")), "")
    answer = next(line for line in lines if not line.startswith(("» ", "« ", "[", " ")))
    cited = [
        (int(m.group(1)), m.group(2)) for line in lines if not line.endswith(QUOTED) and (m := CITATION.match(line))
    ]
    return Printed(instant, answer, cited)


def readme_example() -> tuple[str, str]:
    """The README's first ``$ newsqa ask "QUESTION"`` block: the question and what it shows printed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"^```\n(.*?)^```", text, flags=re.M | re.S):
        command, _, printed = block.partition("\n")
        if command.startswith("$ newsqa ask "):
            return shlex.split(command)[3], printed
    raise AssertionError('README.md has no code block starting with $ newsqa ask "…"')


def test_parse_reads_the_parts_of_an_answer():
    printed = parse(
        "» Es sind 12.000 Soldaten. [2]\n\nUp to 12,000 [2]\n« Bis zu 12.000 Soldaten. [2]\n\n"
        "[2] Nordkorea — a.txt\n    Bis zu 12.000 Soldaten.\n\n[3] Bericht — b.pdf, pp. 3–4\n    Text.\n\n"
        "[1] Nordkorea — a.txt (quoted by the instant answer)\n    Es sind 12.000 Soldaten.\n"
    )
    assert printed == Printed("» Es sind 12.000 Soldaten. [2]", "Up to 12,000 [2]", [(2, "a.txt"), (3, "b.pdf")])


def test_readme_example_is_what_newsqa_ask_prints(corpus_settings):
    question, shown = readme_example()
    result = newsqa("ask", question, settings=corpus_settings)
    assert result.returncode == 0, result.stderr
    printed, expected = parse(result.stdout), parse(shown)
    assert expected.cited, "the README example cites no passage"
    assert printed.answer == expected.answer, result.stdout
    assert printed.cited == expected.cited, result.stdout
    assert printed.instant == expected.instant, result.stdout

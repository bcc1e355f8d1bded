"""`newsqa ask` shows the instant answer: first in the plain output, as `quick_answer` in the JSON."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import newsqa


@pytest.mark.llm
def test_ask_prints_the_quick_sentence_first_and_json_carries_it(corpus_settings):
    result = newsqa("ask", "how many soldiers?", "--json", settings=corpus_settings)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    quick = answer["quick_answer"]
    assert {"text", "passage", "start", "end", "source", "title"} <= quick.keys()
    assert "12.000" in quick["text"] and quick["source"] == "nordkorea-soldaten-russland.txt"
    assert answer["timings_ms"]["quick"] <= answer["timings_ms"]["total"]

    plain = newsqa("ask", "how many soldiers?", settings=corpus_settings)
    assert plain.returncode == 0, plain.stderr
    first = plain.stdout.splitlines()[0]
    assert first.startswith("» ") and "12.000" in first and first.rstrip().endswith("]")
    # The passage the instant answer quotes is printed too, cited by the answer or not.
    n = re.search(r"\[(\d+)\]$", first.rstrip()).group(1)
    assert re.search(rf"^\[{n}\] .*nordkorea-soldaten-russland\.txt", plain.stdout, re.MULTILINE), plain.stdout

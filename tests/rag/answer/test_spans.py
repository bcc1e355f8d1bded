"""The span grammar: only a verbatim span of one passage with that passage's [n], or NOT FOUND."""

from __future__ import annotations

import importlib.util
import re

import pytest

from rag.answer.spans import MAX_WORDS, NOT_FOUND, span_grammar, words_and_separators

PASSAGES = [
    'Westliche Geheimdienste sprechen von 10.000 bis 12.000 Soldaten, die "nach" Russland kamen.',
    "Laut Seoul wurden seitdem rund 4.000 Soldaten getötet oder verletzt.",
]


def test_words_keep_their_inner_punctuation_and_separators_are_the_passages_own():
    words, seps = words_and_separators("von 10.000 bis 12.000 Soldaten, die (laut NYT)  kamen.")
    assert words == ["von", "10.000", "bis", "12.000", "Soldaten", "die", "laut", "NYT", "kamen"]
    assert seps == [" ", " ", " ", " ", ", ", " (", " ", ") "]  # whitespace folded


def test_each_passage_is_one_alternative_ending_in_its_own_marker():
    grammar = span_grammar(PASSAGES)
    root = grammar.splitlines()[0]
    assert root == f'root ::= p1 | p2 | "{NOT_FOUND}"'
    assert re.search(rf'^p1 ::= \(w1x0r{MAX_WORDS} \| .* \| w1x11r{MAX_WORDS}\) " \[1\]"$', grammar, re.MULTILINE)
    assert re.search(r'^p2 ::= \(w2x0r\d+ \| .*\) " \[2\]"$', grammar, re.MULTILINE)
    # a word leads only to the word after it in the same passage, by the passage's separator
    assert 'w1x4r3 ::= "10.000" (" " w1x5r2)?' in grammar
    assert 'w1x7r2 ::= "Soldaten" (", " w1x8r1)?' in grammar
    assert 'w1x8r2 ::= "die" (" \\"" w1x9r1)?' in grammar  # quotes in a separator are escaped
    assert "w3x" not in grammar and "[3]" not in grammar


def test_a_span_ends_after_at_most_max_words():
    grammar = span_grammar(["eins zwei drei vier"], max_words=2)
    assert 'w1x0r2 ::= "eins" (" " w1x1r1)?' in grammar
    assert 'w1x1r1 ::= "zwei"\n' in grammar  # the second word of a span is its last
    assert "p1 ::= (w1x0r2 | w1x1r2 | w1x2r2 | w1x3r2)" in grammar


def test_without_not_found_the_model_must_answer():
    assert NOT_FOUND not in span_grammar(PASSAGES, allow_not_found=False)


def test_no_passages_leave_only_not_found():
    assert span_grammar([]).splitlines()[0] == f'root ::= "{NOT_FOUND}"'


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python")
def test_llama_cpp_parses_the_grammar():
    import llama_cpp

    assert llama_cpp.LlamaGrammar.from_string(span_grammar(PASSAGES), verbose=False) is not None

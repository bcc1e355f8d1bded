"""Translating the copied answer phrase: the guards and the cache with a scripted model; one real
translation with the local LLM (marked llm)."""

from __future__ import annotations

import re

import pytest
from langchain_core.messages import AIMessage

from rag.answer.translating import FEW_SHOT, Translator, clean_translation, translate_amount
from tests.rag.answer.test_answering import ScriptedLLM


def scripted(*replies: str) -> tuple[Translator, ScriptedLLM]:
    llm = ScriptedLLM(messages=iter([AIMessage(content=r) for r in replies]), prompts=[])
    return Translator(llm), llm


# --- clean_translation ---------------------------------------------------------------------------


def test_a_good_translation_is_kept_without_quotes_label_or_further_lines():
    assert clean_translation("as pasture for cattle", "als Weidefläche für Rinder") == "as pasture for cattle"
    assert clean_translation('Translation: "as pasture for cattle"\nmore text', "als Weidefläche für Rinder") == (
        "as pasture for cattle"
    )
    assert clean_translation("„between 10.000 and 12.000 soldiers“", "zwischen 10.000 und 12.000 Soldaten") == (
        "between 10.000 and 12.000 soldiers"
    )


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("  \n \n", "blank"),
        ("as pasture for cattle, which is a German expression meaning that the land " * 3, "runaway length"),
        ("between 10.000 and 15.000 soldiers", "a changed number"),
        ("between 10.000 and 12.000 soldiers in 2024", "an added number"),
        ("between 12.000 soldiers", "a dropped number"),
        ("ZWISCHEN 10.000 UND 12.000 SOLDATEN", "only the case changed"),
    ],
)
def test_an_unusable_translation_falls_back_to_the_phrase(raw, why):
    phrase = "zwischen 10.000 und 12.000 Soldaten"
    assert clean_translation(raw, phrase) == phrase, why


def test_a_number_written_the_other_way_is_the_same_number():
    assert clean_translation("up to 12,000 soldiers", "bis zu 12.000 Soldaten") == "up to 12,000 soldiers"


def test_a_name_the_model_only_recased_keeps_the_articles_spelling():
    assert clean_translation("Kim jong-un", "Kim Jong-un") == "Kim Jong-un"


# --- Translator with a scripted model ------------------------------------------------------------


def test_the_model_sees_the_phrase_and_the_target_language():
    translator, llm = scripted("as pasture for cattle")
    assert translator.run("als Weidefläche für Rinder", "en") == "as pasture for cattle"
    system, *examples, human = llm.prompts[0]
    assert "English" in system.content and human.content == "als Weidefläche für Rinder"
    assert len(examples) == 2 * len(FEW_SHOT)


def test_a_french_question_gets_its_phrase_in_french():
    translator, llm = scripted("comme pâturage pour le bétail")
    assert translator.run("als Weidefläche für Rinder", "fr") == "comme pâturage pour le bétail"
    assert "French" in llm.prompts[0][0].content


def test_the_same_phrase_is_translated_once():
    translator, llm = scripted("as pasture for cattle", "something else")
    assert translator.run("als Weidefläche für Rinder", "en") == "as pasture for cattle"
    assert translator.run("als Weidefläche für Rinder", "en") == "as pasture for cattle"
    assert len(llm.prompts) == 1
    assert translator.run("Booten und Pumpen", "en") == "something else"  # another phrase is asked for
    assert len(llm.prompts) == 2


def test_a_fallback_is_cached_too():
    translator, llm = scripted("")
    assert translator.run("Booten und Pumpen", "en") == "Booten und Pumpen"
    assert translator.run("Booten und Pumpen", "en") == "Booten und Pumpen"
    assert len(llm.prompts) == 1


@pytest.mark.parametrize(
    ("phrase", "english"),
    [("12.000", "12,000"), ("10.000 - 12.000", "10,000 to 12,000"), ("3,5 %", "3.5%"), ("2024 [1]", "2024 [1]")],
)
def test_numbers_alone_never_call_the_model(phrase, english):
    translator, llm = scripted("should not be used")
    assert translator.run(phrase, "en") == english
    assert llm.prompts == []


@pytest.mark.parametrize(
    ("phrase", "english"),
    [
        ("10.000 bis 12.000", "10,000 to 12,000"),
        ("Bis zu 12.000", "Up to 12,000"),
        ("rund 4.000", "about 4,000"),
        ("Zwischen 1.500 und 2.000", "Between 1,500 and 2,000"),
        ("1,2 Milliarden Euro", "1.2 billion euros"),
        ("mehr als 300", "more than 300"),
        ("3,5 Prozent", "3.5 percent"),
    ],
)
def test_an_amount_keeps_its_meaning_and_is_written_the_english_way_without_the_model(phrase, english):
    translator, llm = scripted("should not be used")
    assert translator.run(phrase, "en") == english
    assert llm.prompts == []


@pytest.mark.parametrize("phrase", ["4.000 Soldaten", "im Jahr 2024", "Kim Jong Un"])
def test_an_amount_with_other_words_is_no_amount(phrase):
    assert translate_amount(phrase, "en") is None


def test_amounts_are_translated_into_english_only():
    assert translate_amount("rund 4.000", "de") is None


@pytest.mark.parametrize("target", ["pt", "", "EN", "english"])
def test_a_language_newsqa_cannot_name_returns_the_phrase(target):
    translator, llm = scripted("should not be used")
    assert translator.run("als Weidefläche für Rinder", target) == "als Weidefläche für Rinder"
    assert llm.prompts == []


def test_a_failing_model_returns_the_phrase_and_is_asked_again_next_time():
    class Failing(ScriptedLLM):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            self.prompts.append(messages)
            raise RuntimeError("llama.cpp died")

    llm = Failing(messages=iter([]), prompts=[])
    translator = Translator(llm)
    assert translator.run("als Weidefläche für Rinder", "en") == "als Weidefläche für Rinder"
    assert translator.run("als Weidefläche für Rinder", "en") == "als Weidefläche für Rinder"
    assert len(llm.prompts) == 2  # a failure is not cached


# --- the real model --------------------------------------------------------------------------------


@pytest.mark.llm
def test_the_local_model_translates_a_german_phrase_into_english(corpus_settings):
    from rag.answer.condensing import own_context
    from rag.models.llm import get_chat_model

    phrase = "als Weidefläche für Rinder"
    translated = Translator(own_context(get_chat_model(corpus_settings))).run(phrase, "en")
    assert translated != phrase and translated.strip()
    words = set(re.findall(r"\w+", translated.lower()))
    assert not words & {"für", "und", "der", "die", "das", "als"}, translated
    assert words & {"cattle", "cows", "pasture", "grazing", "pastures"}, translated


def test_a_phrase_with_words_between_numbers_is_translated():
    translator, llm = scripted("10.000 soldiers until 2024")
    assert translator.run("10.000 Soldaten bis 2024", "en") == "10.000 soldiers until 2024"
    assert len(llm.prompts) == 1

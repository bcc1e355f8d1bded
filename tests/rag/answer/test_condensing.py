"""Condensing follow-up questions with the chat history: the prompt and its guards with a scripted
model; the rewrite itself with the real LLM (marked llm)."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from rag.answer.condensing import CONTEXT_TOKENS, Condenser, Turn, clean_rewrite, format_history, own_context
from rag.models.llm import LlamaCppChatModel
from tests.rag.answer.test_answering import ScriptedLLM

SOLDIERS = Turn("How many North Korean soldiers are in Russia?", "10,000 to 12,000 North Korean soldiers [2]")
SOLDATEN = Turn("Wie viele nordkoreanische Soldaten sind in Russland?", "10.000 bis 12.000 Soldaten [2]")


def scripted(reply: str) -> tuple[Condenser, ScriptedLLM]:
    llm = ScriptedLLM(messages=iter([AIMessage(content=reply)]), prompts=[])
    return Condenser(llm), llm


def test_without_history_the_question_is_kept_and_no_llm_is_called():
    condenser, llm = scripted("should not be used")
    assert condenser.run("and how many were killed?", []) == "and how many were killed?"
    assert llm.prompts == []


def test_the_model_sees_the_conversation_the_follow_up_and_the_language():
    condenser, llm = scripted("Standalone question: How many North Korean soldiers were killed?")
    assert condenser.run("and how many were killed?", [SOLDIERS]) == "How many North Korean soldiers were killed?"
    human = llm.prompts[0][-1].content
    assert "User: How many North Korean soldiers are in Russia?" in human
    assert "Assistant: 10,000 to 12,000 North Korean soldiers" in human and "[2]" not in human
    assert "Follow-up question: and how many were killed?" in human
    assert human.rstrip().endswith("Standalone question in English:")


def test_a_german_follow_up_is_rewritten_in_german():
    condenser, llm = scripted("„Wie viele nordkoreanische Soldaten wurden getötet?“")
    assert (
        condenser.run("Und wie viele wurden getötet?", [SOLDATEN])
        == "Wie viele nordkoreanische Soldaten wurden getötet?"
    )
    assert llm.prompts[0][-1].content.rstrip().endswith("Standalone question in German:")


def test_only_the_last_turns_are_shown():
    turns = [Turn(f"question {i}?", f"answer {i}") for i in range(6)]
    shown = format_history(turns)
    assert "question 2?" not in shown and "question 3?" in shown and "question 5?" in shown


@pytest.mark.parametrize(
    "raw",
    ["", "   \n", "Wie viele nordkoreanische Soldaten wurden getötet?", "x" * 1000],
    ids=["empty", "blank", "wrong-language", "runaway"],
)
def test_an_unusable_rewrite_falls_back_to_the_question(raw):
    assert clean_rewrite(raw, "and how many were killed?", "en") == "and how many were killed?"


def test_a_rewrite_may_not_bring_in_numbers_the_user_never_wrote():
    # "12,000" came from the model's earlier answer: as part of the question it would be exempt
    # from the number check of the next answer.
    condenser, _ = scripted("How many of the 12,000 North Korean soldiers were killed?")
    assert condenser.run("and how many were killed?", [SOLDIERS]) == "and how many were killed?"
    condenser, _ = scripted("How many North Korean soldiers were killed in 2024?")
    turn = Turn("How many North Korean soldiers came to Russia in 2024?", "10,000 to 12,000 [1]")
    assert condenser.run("and how many were killed?", [turn]) == "How many North Korean soldiers were killed in 2024?"


def test_a_failing_model_leaves_the_question_as_asked():
    class Broken(ScriptedLLM):
        def _generate(self, *args, **kwargs):
            raise ValueError("Requested tokens (5000) exceed context window of 2048")

    condenser = Condenser(Broken(messages=iter([]), prompts=[]))
    assert condenser.run("and how many were killed?", [SOLDIERS]) == "and how many were killed?"


def test_a_local_model_gets_a_context_of_its_own_and_others_are_shared():
    local = LlamaCppChatModel(model_path="/models/qwen.gguf", n_ctx=4096, n_threads=2, max_tokens=200)
    own = own_context(local)
    assert isinstance(own, LlamaCppChatModel) and own.n_ctx == CONTEXT_TOKENS and local.n_ctx == 4096
    assert (own.model_path, own.n_threads) == (local.model_path, local.n_threads)
    fake = ScriptedLLM(messages=iter([]), prompts=[])
    assert own_context(fake) is fake


@pytest.mark.llm
def test_the_real_llm_rewrites_follow_ups_in_the_users_language(settings):
    from rag.models.llm import get_chat_model

    model = get_chat_model(settings)
    condenser = Condenser(own_context(model))  # as the chat builds it
    assert condenser.chat_model.load().llama is not model.load().llama
    english = condenser.run("and how many were killed?", [SOLDIERS])
    assert "soldier" in english.lower() and "kill" in english.lower() and "korea" in english.lower(), english
    german = condenser.run("Und wie viele wurden getötet?", [SOLDATEN])
    assert "Soldaten" in german and "getötet" in german, german
    unrelated = condenser.run("Who won the 1994 football World Cup?", [SOLDIERS])
    assert "1994" in unrelated and "soldier" not in unrelated.lower(), unrelated

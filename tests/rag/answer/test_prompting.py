"""Few-shot prompts: rules, examples as earlier turns, then the real turn."""

from __future__ import annotations

from rag.answer.prompting import few_shot_prompt


def test_examples_become_earlier_turns_and_braces_in_them_stay_literal():
    prompt = few_shot_prompt(
        "Answer briefly.",
        "Passages: {passages}\nQuestion: {question}",
        [{"passages": "[1] Code like {x} and }{", "question": "What?", "answer": "{x} [1]"}],
    )
    messages = prompt.format_messages(passages="[1] Kim {sagte}", question="Who?")
    assert [m.type for m in messages] == ["system", "human", "ai", "human"]
    assert messages[1].content == "Passages: [1] Code like {x} and }{\nQuestion: What?"
    assert messages[2].content == "{x} [1]"
    assert messages[3].content == "Passages: [1] Kim {sagte}\nQuestion: Who?"

"""Two checks measured for "a number of the wrong thing" ("How many tanks?" answered with the soldiers' number).

Usage::

    .venv/bin/python bench/count_checks.py embedding     # e5 similarity of the counted noun, no LLM
    .venv/bin/python bench/count_checks.py verify        # the LLM asked yes/no (20 questions, minutes)

``embedding``: for the dev set's "how many/how much X …" questions, the e5 similarity between X and
the words that follow the gold number in the German paragraph, against the same with another
question's X. ``verify``: the local LLM is asked whether a sentence states the answer, for the gold
sentence and for another sentence of the paragraph that holds a number; plus the shipped article's
soldiers/tanks case. Neither separates well enough to refuse on (docs/quality.md).
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.settings import Settings  # noqa: E402
from rag.text.numbers import find_numbers  # noqa: E402
from rag.text.sentences import split_sentences  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared/data/xquad/dev.jsonl"
COUNTED = re.compile(
    r"^(?:how many|how much)\s+(.*?)\s+(?:did|do|does|were|was|are|is|have|has|had|will|would|can|could|in|of|on|"
    r"at|for|per|remained|remain|left)\b",
    re.IGNORECASE,
)
SOLDIERS = (
    "Westliche Geheimdienste sprechen von 10.000 bis 12.000 Soldaten, die im vergangenen Herbst nach Russland "
    "geschickt wurden, um in Kursk zu kämpfen."
)


def _rows() -> list[dict]:
    return [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]


def embedding() -> None:
    import numpy as np

    from rag.models.embedding import get_embeddings

    embeddings = get_embeddings(Settings())
    pairs = []
    for row in _rows():
        match = COUNTED.match(row["question_en"])
        answer, context = row["answers_de"][0], row["context_de"]
        if match and answer in context:
            after = " ".join(context[context.find(answer) :].split()[: len(answer.split()) + 3])
            pairs.append((match.group(1), after))

    def unit(vectors: list[list[float]]) -> np.ndarray:
        array = np.array(vectors)
        return array / np.linalg.norm(array, axis=1, keepdims=True)

    # The e5 prefixes ("query: ", "passage: ") are added by the embeddings, as for retrieval.
    things = unit([embeddings.embed_query(x) for x, _ in pairs])
    places = unit(embeddings.embed_documents([a for _, a in pairs]))
    same = (things * places).sum(1)
    order = list(range(len(pairs)))
    random.Random(0).shuffle(order)
    other = np.array([things[i] @ places[j] for i, j in enumerate(order) if pairs[i][0] != pairs[j][0]])
    print(f"{len(pairs)} questions")
    print(
        "counted thing vs its own number's words, percentiles 2/5/10/25/50:",
        np.percentile(same, [2, 5, 10, 25, 50]).round(3),
    )
    print(
        "counted thing vs another number's words, percentiles 50/75/90/95/98:",
        np.percentile(other, [50, 75, 90, 95, 98]).round(3),
    )


def verify() -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from rag.answer.condensing import own_context
    from rag.models.llm import get_chat_model

    prompt = ChatPromptTemplate.from_messages(
        [
            (
                "system",
                "You check whether a sentence from a news article states the answer to a question. Reply only yes or no.",
            ),
            ("human", "Sentence: {s}\nQuestion: {q}\nDoes the sentence state the answer?"),
        ]
    )
    chain = prompt | own_context(get_chat_model(Settings())).bind(max_tokens=2) | StrOutputParser()

    def says_yes(sentence: str, question: str) -> bool:
        return chain.invoke({"s": sentence, "q": question}).strip().lower().startswith("yes")

    print(
        "soldiers sentence, 'How many soldiers did North Korea send?':",
        says_yes(SOLDIERS, "How many soldiers did North Korea send?"),
    )
    print(
        "soldiers sentence, 'How many tanks did North Korea send?':",
        says_yes(SOLDIERS, "How many tanks did North Korea send?"),
    )
    rows = [r for r in _rows() if r["question_en"].lower().startswith("how many")]
    random.Random(1).shuffle(rows)
    gold_yes = gold_no = other_yes = other_no = 0
    for row in rows[:20]:
        context, answer = row["context_de"], row["answers_de"][0]
        sentences = [context[s:e] for s, e in split_sentences(context)]
        gold = [s for s in sentences if answer in s]
        other = [s for s in sentences if answer not in s and find_numbers(s)]
        if not gold:
            continue
        yes = says_yes(gold[0], row["question_en"])
        gold_yes, gold_no = gold_yes + yes, gold_no + (not yes)
        if other:
            yes = says_yes(other[0], row["question_en"])
            other_yes, other_no = other_yes + yes, other_no + (not yes)
    print(f"gold sentence: yes {gold_yes}, no {gold_no}; another numeric sentence: yes {other_yes}, no {other_no}")


if __name__ == "__main__":
    {"embedding": embedding, "verify": verify}[sys.argv[1] if len(sys.argv) > 1 else "embedding"]()

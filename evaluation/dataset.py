"""Evaluation questions: loading an XQuAD-format ``.jsonl``, sampling it, and the unanswerable split.

Usage::

    items = load_qa(Path("../shared/data/xquad/dev.jsonl"))
    items = sample(items, limit=100, seed=0)          # reproducible; keeps the file's order
    item.question("en"), item.golds("en"), item.answers_de[0]
    split = split_unanswerable(items, corpus_dir, out_dir, seed=0)   # corpus without half the articles

A line holds ``question_en``, ``question_de``, ``answers_en[]``, ``answers_de[]``, ``context_de`` (the
gold paragraph, verbatim in the article) and ``doc_file`` (the article's file name in the corpus).
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Lang = Literal["en", "de"]
_REQUIRED = ("question_en", "question_de", "answers_en", "answers_de", "context_de", "doc_file")


class QAFileError(ValueError):
    """A question file newsqa cannot evaluate with; the message names the file and line."""


@dataclass(frozen=True)
class QAItem:
    """One evaluation question, in both languages, with its gold answers and paragraph."""

    id: str
    question_en: str
    question_de: str
    answers_en: tuple[str, ...]
    answers_de: tuple[str, ...]
    context_de: str
    doc_file: str

    def question(self, lang: Lang) -> str:
        return self.question_en if lang == "en" else self.question_de

    def golds(self, lang: Lang) -> tuple[str, ...]:
        """The gold answers in the question's language."""
        return self.answers_en if lang == "en" else self.answers_de

    @classmethod
    def from_json(cls, row: dict[str, Any], where: str) -> QAItem:
        missing = [key for key in _REQUIRED if key not in row]
        if missing:
            raise QAFileError(f"{where}: missing {', '.join(missing)}")
        answers_en, answers_de = row["answers_en"], row["answers_de"]
        if not isinstance(answers_en, list) or not isinstance(answers_de, list):
            raise QAFileError(f"{where}: answers_en and answers_de must be lists")
        # The first German answer decides retrieval hits (evaluation.running): a blank one would
        # make every passage of the gold article a hit.
        if not answers_de or not str(answers_de[0]).strip():
            raise QAFileError(f"{where}: answers_de must start with a non-blank answer")
        return cls(
            id=str(row.get("id", where)),
            question_en=str(row["question_en"]),
            question_de=str(row["question_de"]),
            answers_en=tuple(str(a) for a in answers_en),
            answers_de=tuple(str(a) for a in answers_de),
            context_de=str(row["context_de"]),
            doc_file=str(row["doc_file"]),
        )


def load_qa(path: Path) -> list[QAItem]:
    """Every question of an XQuAD-format ``.jsonl`` file; :class:`QAFileError` on a bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QAFileError(f"cannot read the question file {path}: {exc}") from exc
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QAFileError(f"{where}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise QAFileError(f"{where}: not a JSON object")
        items.append(QAItem.from_json(row, where))
    if not items:
        raise QAFileError(f"{path} holds no questions")
    return items


def sample(items: list[QAItem], limit: int | None, seed: int) -> list[QAItem]:
    """``limit`` questions drawn with ``seed`` (all when ``limit`` is None), in the file's order."""
    if limit is None or limit >= len(items):
        return list(items)
    picked = set(random.Random(seed).sample(range(len(items)), limit))
    return [item for i, item in enumerate(items) if i in picked]


@dataclass(frozen=True)
class UnanswerableSplit:
    """A corpus without half of the question articles, and the questions that it can and cannot answer."""

    corpus_dir: Path
    answerable: Path
    unanswerable: Path
    removed: tuple[str, ...]


def split_unanswerable(items: list[QAItem], corpus_dir: Path, out_dir: Path, seed: int = 0) -> UnanswerableSplit:
    """Copy ``corpus_dir`` to ``out_dir/corpus`` without half (drawn with ``seed``) of the articles the
    questions are about; write their questions to ``unanswerable.jsonl`` and the others' to
    ``answerable.jsonl``. Questions about a removed article cannot be answered from the copy."""
    articles = sorted({item.doc_file for item in items})
    if len(articles) < 2:
        raise QAFileError("the questions must be about at least two articles to split them")
    missing = [name for name in articles if not (corpus_dir / name).is_file()]
    if missing:
        raise QAFileError(f"not in {corpus_dir}: {', '.join(missing[:5])}")
    corpus_out = out_dir / "corpus"
    source, target = corpus_dir.resolve(), corpus_out.resolve()
    if source == out_dir.resolve() or source == target or target in source.parents:
        # corpus_out is emptied first: with --out beside the corpus that would delete the articles.
        raise QAFileError(f"the split of {corpus_dir} must go to a folder apart from it, not {out_dir}")
    removed = set(random.Random(seed).sample(articles, len(articles) // 2))
    if corpus_out.exists():
        shutil.rmtree(corpus_out)
    corpus_out.mkdir(parents=True)
    for path in sorted(corpus_dir.iterdir()):
        if path.is_file() and path.name not in removed:
            shutil.copy2(path, corpus_out / path.name)
    answerable, unanswerable = out_dir / "answerable.jsonl", out_dir / "unanswerable.jsonl"
    for target, keep in ((answerable, False), (unanswerable, True)):
        rows = [item for item in items if (item.doc_file in removed) == keep]
        target.write_text("".join(json.dumps(_row(item), ensure_ascii=False) + "\n" for item in rows), encoding="utf-8")
    return UnanswerableSplit(corpus_out, answerable, unanswerable, tuple(sorted(removed)))


def _row(item: QAItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "question_en": item.question_en,
        "question_de": item.question_de,
        "answers_en": list(item.answers_en),
        "answers_de": list(item.answers_de),
        "context_de": item.context_de,
        "doc_file": item.doc_file,
    }

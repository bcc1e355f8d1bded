"""Evaluation questions: loading a question file, sampling it, and the unanswerable split.

Usage::

    items = load_qa(Path("../shared/data/xquad/dev.jsonl"))    # QAFileError names the file and line
    items = load_qa(Path("meine-fragen.jsonl"), lang="de")      # checked to be German questions
    lang = file_lang(items)                 # the language to ask in when --lang does not say
    items = sample(items, limit=100, seed=0)          # reproducible; keeps the file's order
    item.question(lang), item.golds(lang), item.article_answer, item.context
    split = split_unanswerable(items, corpus_dir, out_dir, seed=0)   # corpus without half the articles

A question file is ``.jsonl``, one question per line, in one of two formats:

* **XQuAD** (bilingual, as ``../shared/data/xquad/dev.jsonl``): ``question_en``, ``question_de``,
  ``answers_en[]``, ``answers_de[]``, ``context_de``, ``doc_file``. The articles are German; the
  questions are asked in English (``--lang en``, the default) or German (``--lang de``).
* **One language** (your own articles, in their language)::

      {"question": "Wer betreibt die Seilbahn?", "answers": ["Mayrhofner Bergbahnen"],
       "context": "Betrieben wird die Seilbahn von den Mayrhofner Bergbahnen.", "doc_file": "seilbahn.txt",
       "lang": "de"}

  The question is in the articles' language, so ``answers[0]`` is also the answer as the article
  writes it. ``lang`` (a language code: "de", "en", "fr", ...) is optional: a row without it is in the
  file's language, which is ``--lang`` when given, else the ``lang`` of the other rows, else detected
  from the questions (English, German, French, Spanish or Italian; for another language say ``lang`` or ``--lang``).

In both, the context is the gold paragraph, verbatim in the article ("" for a question the corpus
cannot answer), ``doc_file`` the article's file name in the corpus, ``id`` is optional (default: the
file and line) and other keys are ignored. The first answer in the articles' language must not be
blank: it decides retrieval hits (:mod:`evaluation.running`).

One file holds one format and one language: a line in the other format, or a one-language row whose
``lang`` differs from the file's (or from ``--lang``), is an error naming the line, never skipped. An
XQuAD file can be asked only in ``en`` or ``de``.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rag.text.language import detect_language

XQUAD_KEYS = ("question_en", "question_de", "answers_en", "answers_de", "context_de", "doc_file")
ONE_LANGUAGE_KEYS = ("question", "answers", "context", "doc_file")
_LANG_CODE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")


class QAFileError(ValueError):
    """A question file newsqa cannot evaluate with; the message names the file and line."""


def is_lang_code(code: str) -> bool:
    """Whether ``code`` is a lower-case language code such as ``de``, ``fr`` or ``pt-br``."""
    return bool(_LANG_CODE.fullmatch(code))


@dataclass(frozen=True)
class QAItem(ABC):
    """One evaluation question, whichever format its row had.

    ``context`` is the gold paragraph, verbatim in the article ``doc_file``.
    """

    FORMAT: ClassVar[str]
    KEYS: ClassVar[tuple[str, ...]]

    id: str
    context: str
    doc_file: str

    @abstractmethod
    def question(self, lang: str | None) -> str:
        """The question as asked in ``lang``."""

    @abstractmethod
    def golds(self, lang: str | None) -> tuple[str, ...]:
        """The gold answers in ``lang``, the language the question is asked in."""

    @property
    @abstractmethod
    def article_answer(self) -> str:
        """The first gold answer as the article writes it: it decides retrieval hits."""

    @property
    @abstractmethod
    def all_golds(self) -> tuple[str, ...]:
        """Every gold answer in every language (``f1_any``, a cited passage holding the answer)."""

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """The row, in its own format: :func:`load_qa` reads it back as this item."""

    @staticmethod
    def from_json(row: dict[str, Any], where: str, file_format: type[QAItem] | None = None) -> QAItem:
        """The item of one row; ``where`` ("qa.jsonl line 3") starts every error message.
        ``file_format`` (the format of the file's earlier rows) is the one a row must have."""
        kind = _format_of(row, where, file_format)
        if file_format is not None and kind is not file_format:
            raise QAFileError(
                f"{where}: {_article(kind.FORMAT)} row in a file of {file_format.FORMAT} rows (one format per file)"
            )
        missing = [key for key in kind.KEYS if key not in row]
        if missing:
            raise QAFileError(f"{where}: missing {', '.join(missing)} ({_needs(kind)})")
        for key in kind.KEYS:
            if key.startswith("answers"):
                if not isinstance(row[key], list):
                    raise QAFileError(f"{where}: {key} must be a list of answers")
            elif not isinstance(row[key], str):
                raise QAFileError(f"{where}: {key} must be a string")
        if not row["doc_file"].strip():
            raise QAFileError(f"{where}: doc_file must name the article's file")
        return kind._parse(row, str(row.get("id", where)), where)

    @classmethod
    @abstractmethod
    def _parse(cls, row: dict[str, Any], id: str, where: str) -> QAItem: ...


def _answers(row: dict[str, Any], key: str, where: str, first: bool) -> tuple[str, ...]:
    answers = tuple(str(a) for a in row[key])
    # The first answer in the articles' language decides retrieval hits (evaluation.running): a blank
    # one would make every passage of the gold article a hit.
    if first and (not answers or not answers[0].strip()):
        raise QAFileError(f"{where}: {key} must start with a non-blank answer")
    return answers


@dataclass(frozen=True)
class XQuADItem(QAItem):
    """A bilingual XQuAD question about a German article: asked in English or German."""

    FORMAT: ClassVar[str] = "XQuAD"
    KEYS: ClassVar[tuple[str, ...]] = XQUAD_KEYS
    LANGS: ClassVar[tuple[str, ...]] = ("en", "de")

    question_en: str
    question_de: str
    answers_en: tuple[str, ...]
    answers_de: tuple[str, ...]

    @property
    def context_de(self) -> str:
        """The XQuAD name of :attr:`context`."""
        return self.context

    def _check(self, lang: str | None) -> None:
        if lang not in self.LANGS:
            raise ValueError(f"an XQuAD question is asked in en or de, not {lang}")

    def question(self, lang: str | None) -> str:
        self._check(lang)
        return self.question_en if lang == "en" else self.question_de

    def golds(self, lang: str | None) -> tuple[str, ...]:
        self._check(lang)
        return self.answers_en if lang == "en" else self.answers_de

    @property
    def article_answer(self) -> str:
        return self.answers_de[0]

    @property
    def all_golds(self) -> tuple[str, ...]:
        return (*self.answers_en, *self.answers_de)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question_en": self.question_en,
            "question_de": self.question_de,
            "answers_en": list(self.answers_en),
            "answers_de": list(self.answers_de),
            "context_de": self.context,
            "doc_file": self.doc_file,
        }

    @classmethod
    def _parse(cls, row: dict[str, Any], id: str, where: str) -> XQuADItem:
        return cls(
            id=id,
            context=row["context_de"],
            doc_file=row["doc_file"],
            question_en=row["question_en"],
            question_de=row["question_de"],
            answers_en=_answers(row, "answers_en", where, first=False),
            answers_de=_answers(row, "answers_de", where, first=True),
        )


@dataclass(frozen=True)
class OneLanguageItem(QAItem):
    """A question in the language of its article; ``lang`` None: in the file's language."""

    FORMAT: ClassVar[str] = "one-language"
    KEYS: ClassVar[tuple[str, ...]] = ONE_LANGUAGE_KEYS

    text: str
    answers: tuple[str, ...]
    lang: str | None = None

    def _check(self, lang: str | None) -> None:
        if self.lang is not None and lang is not None and lang != self.lang:
            raise ValueError(f"question {self.id} is in {self.lang}, not {lang}")

    def question(self, lang: str | None) -> str:
        self._check(lang)
        return self.text

    def golds(self, lang: str | None) -> tuple[str, ...]:
        self._check(lang)
        return self.answers

    @property
    def article_answer(self) -> str:
        return self.answers[0]

    @property
    def all_golds(self) -> tuple[str, ...]:
        return self.answers

    def to_json(self) -> dict[str, Any]:
        row = {
            "id": self.id,
            "question": self.text,
            "answers": list(self.answers),
            "context": self.context,
            "doc_file": self.doc_file,
        }
        return row if self.lang is None else {**row, "lang": self.lang}

    @classmethod
    def _parse(cls, row: dict[str, Any], id: str, where: str) -> OneLanguageItem:
        lang = row.get("lang")
        if lang is not None:
            if not isinstance(lang, str) or not is_lang_code(lang.strip().lower()):
                raise QAFileError(f"{where}: lang must be a language code such as de, en or fr, not {lang!r}")
            lang = lang.strip().lower()
        return cls(
            id=id,
            context=row["context"],
            doc_file=row["doc_file"],
            text=row["question"],
            answers=_answers(row, "answers", where, first=True),
            lang=lang,
        )


_FORMATS: tuple[type[QAItem], ...] = (XQuADItem, OneLanguageItem)


def _article(name: str) -> str:
    return f"{'an' if name == XQuADItem.FORMAT else 'a'} {name}"


def _needs(kind: type[QAItem]) -> str:
    return f"{_article(kind.FORMAT)} row needs {', '.join(kind.KEYS)}"


def _format_of(row: dict[str, Any], where: str, file_format: type[QAItem] | None) -> type[QAItem]:
    """The format whose own keys (all but doc_file) the row has."""
    kinds = [kind for kind in _FORMATS if any(key in row for key in kind.KEYS if key != "doc_file")]
    if len(kinds) == 1:
        return kinds[0]
    if kinds:
        raise QAFileError(f"{where}: mixes the keys of both formats ({_needs(OneLanguageItem)}; {_needs(XQuADItem)})")
    if file_format is not None:  # no question at all: say what the file's format needs
        return file_format
    raise QAFileError(f"{where}: missing question ({_needs(OneLanguageItem)}; {_needs(XQuADItem)})")


def load_qa(path: Path, lang: str | None = None) -> list[QAItem]:
    """Every question of a question file (either format, see the module docstring).

    With ``lang``, the questions must be askable in it: ``en`` or ``de`` for an XQuAD file, the rows'
    ``lang`` for a one-language file. :class:`QAFileError` names the file (and line) otherwise, and on
    a bad line.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QAFileError(f"cannot read the question file {path}: {exc}") from exc
    items: list[QAItem] = []
    langs: list[tuple[str, str]] = []  # (where, lang) of the one-language rows that name theirs
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
        item = QAItem.from_json(row, where, type(items[0]) if items else None)
        items.append(item)
        if isinstance(item, OneLanguageItem) and item.lang is not None:
            langs.append((where, item.lang))
    if not items:
        raise QAFileError(f"{path} holds no questions")
    _check_lang(path, items, langs, lang)
    return items


def _check_lang(path: Path, items: list[QAItem], langs: list[tuple[str, str]], lang: str | None) -> None:
    if isinstance(items[0], XQuADItem):
        if lang is not None and lang not in XQuADItem.LANGS:
            raise QAFileError(f"{path.name} is an XQuAD file: its questions are in en and de, not {lang} (--lang)")
        return
    named = sorted({code for _, code in langs})
    if lang is not None and named and lang not in named:
        raise QAFileError(f"{path.name} has questions in {', '.join(named)}, not in {lang} (--lang)")
    expected = lang or (langs[0][1] if langs else None)
    for where, code in langs:
        if code != expected:
            said = f"--lang {lang}" if lang else f"{langs[0][0]} is in {expected}"
            raise QAFileError(f"{where}: lang {code}, but {said} (a question file holds one language)")


def file_lang(items: Sequence[QAItem]) -> str | None:
    """The language to ask a file's questions in when ``--lang`` does not say: ``en`` for an XQuAD
    file, the rows' ``lang`` for a one-language file, else the language detected from most questions
    (English, German, French, Spanish or Italian); None when nothing tells."""
    if not items or isinstance(items[0], XQuADItem):
        return "en"
    named = [item.lang for item in items if isinstance(item, OneLanguageItem) and item.lang]
    if named:
        return named[0]
    votes = Counter(found for item in items if (found := detect_language(item.question(None), default="")))
    return votes.most_common(1)[0][0] if votes else None


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
    # The same two files again for half of the articles of each kind (``calibration/``) and for the
    # other half (``test/``): a refusal gate fitted on the first is reported on questions about
    # articles it never saw (``newsqa calibrate``).
    calibration: Path
    test: Path


def split_unanswerable(items: list[QAItem], corpus_dir: Path, out_dir: Path, seed: int = 0) -> UnanswerableSplit:
    """Copy ``corpus_dir`` to ``out_dir/corpus`` without half (drawn with ``seed``) of the articles the
    questions are about; write their questions to ``unanswerable.jsonl`` and the others' to
    ``answerable.jsonl``, each row in its own format. Questions about a removed article cannot be
    answered from the copy. ``calibration/`` and ``test/`` hold the same two files for two halves of
    the articles (each half has removed and kept articles)."""
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
    draw = random.Random(seed + 1)
    calibrating = set()
    for group in (sorted(removed), sorted(set(articles) - removed)):
        calibrating |= set(draw.sample(group, (len(group) + 1) // 2))
    halves = {
        out_dir: set(articles),
        out_dir / "calibration": calibrating,
        out_dir / "test": set(articles) - calibrating,
    }
    for folder, kept in halves.items():
        folder.mkdir(parents=True, exist_ok=True)
        for name, unanswered in (("answerable.jsonl", False), ("unanswerable.jsonl", True)):
            rows = [i.to_json() for i in items if i.doc_file in kept and (i.doc_file in removed) == unanswered]
            (folder / name).write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
            )
    return UnanswerableSplit(
        corpus_out,
        out_dir / "answerable.jsonl",
        out_dir / "unanswerable.jsonl",
        tuple(sorted(removed)),
        out_dir / "calibration",
        out_dir / "test",
    )

"""The ``newsqa`` command line: ingest articles, ask a question, start the chat, build the models.

Usage::

    newsqa ingest [PATH ...] [--rebuild]       # default: $NEWSQA_CORPUS_DIR (corpus/)
    newsqa ask "how many soldiers?" [--json]
    newsqa chat [--host 127.0.0.1] [--port 7860] [--auth user:password]
    newsqa models                              # build the model cache now (the install step does this)
    newsqa eval --qa dev.jsonl --corpus DIR [--lang en|de|CODE] [--limit N] [--seed S] [--retrieval-only] [--json]
    newsqa eval-split --qa dev.jsonl --corpus DIR --out DIR   # a corpus without half the question articles
    newsqa calibrate --split DIR [--false-refusal 0.03] [--json]   # fit the refusal gate on that split

Exit status: 0 success, 1 failure, 2 bad usage, 3 ingestion completed but skipped some files.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from rag.settings import BUILTIN_EMBEDDING_MODEL, Settings, get_settings, offline_environment

if TYPE_CHECKING:
    from ingest.manifest import Survey
    from ingest.report import IngestReport

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SKIPPED = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own usage errors exit 2, as ours do
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"newsqa: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``newsqa`` argument parser, every subcommand and option (usage errors exit 2).

    Usage: ``build_parser().parse_args(["chat"]).host  # "127.0.0.1"``
    """
    parser = _Parser(prog="newsqa", description="Ask questions about a folder of news articles, offline.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ingest = commands.add_parser("ingest", help="chunk and embed articles into the index")
    ingest.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the corpus folder)")
    ingest.add_argument("--rebuild", action="store_true", help="delete the index and ingest from scratch")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")

    ask = commands.add_parser("ask", help="answer one question with cited passages")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")

    chat = commands.add_parser("chat", help="start the web chat")
    chat.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    chat.add_argument("--port", type=int, default=7860)
    chat.add_argument("--auth", help="require a login, as user:password (default: $NEWSQA_CHAT_AUTH)")

    commands.add_parser("models", help="build the embedding model and the LLM into the model cache")

    evaluate = commands.add_parser("eval", help="measure retrieval, answers, citations and refusals on a QA set")
    evaluate.add_argument(
        "--qa",
        type=Path,
        required=True,
        help="questions (.jsonl): XQuAD rows, or one-language rows (question, answers, "
        "context, doc_file, optional lang)",
    )
    evaluate.add_argument("--corpus", type=Path, required=True, help="folder of the articles they are about")
    # Not a fixed choice: a one-language file may be in any language ("--lang fr"); the file is checked.
    evaluate.add_argument(
        "--lang",
        type=str.lower,
        metavar="CODE",
        help="language to ask in: en or de for an XQuAD file (default en); for a one-language "
        "file its language (default: the rows' lang, or detected)",
    )
    evaluate.add_argument("--limit", type=int, help="a sample of this many questions (drawn with --seed)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    evaluate.add_argument("--retrieval-only", action="store_true", help="no LLM: retrieval figures only")
    evaluate.add_argument(
        "--unanswerable", type=Path, help="questions the corpus cannot answer (either format, same language)"
    )
    evaluate.add_argument(
        "--context",
        choices=("retrieved", "gold"),
        default="retrieved",
        help="'gold' hands the model the gold paragraph: the answer step alone",
    )
    evaluate.add_argument("--fresh-index", action="store_true", help="a new temporary index, not the cached one")
    evaluate.add_argument("--details", type=Path, help="write one JSON line per question here")
    evaluate.add_argument(
        "--record-db-url",
        metavar="URL",
        help="keep the evaluation index's records, keyword index and catalogue in this database "
        "(postgresql+psycopg://...) instead of a SQLite file in its cache folder",
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")

    split = commands.add_parser(
        "eval-split",
        help="build unanswerable questions: copy a corpus without half of the articles the questions are about",
    )
    split.add_argument("--qa", type=Path, required=True)
    split.add_argument("--corpus", type=Path, required=True)
    split.add_argument(
        "--out",
        type=Path,
        required=True,
        help="writes corpus/, answerable.jsonl, unanswerable.jsonl, and both files again for two halves of "
        "the articles in calibration/ and test/",
    )
    split.add_argument("--seed", type=int, default=0)

    fit = commands.add_parser(
        "calibrate",
        help="fit the refusal gate on an eval-split folder's calibration half and report it on its test half",
    )
    fit.add_argument("--split", type=Path, required=True, help="a folder written by `newsqa eval-split`")
    fit.add_argument(
        "--false-refusal",
        type=float,
        default=0.03,
        help="share of the calibration half's answerable questions the gate may refuse (default 0.03)",
    )
    fit.add_argument("--json", action="store_true", help="print one JSON object")
    fit.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _quiet_libraries() -> None:
    # Library chatter (deprecations, "loading weights" bars) is noise to a user; errors still surface.
    warnings.filterwarnings("ignore")
    for name in ("chromadb", "transformers", "sentence_transformers", "httpx", "langchain_core"):
        logging.getLogger(name).setLevel(logging.ERROR)


def run_ingest(paths: list[Path], settings: Settings, rebuild: bool, quiet: bool, look: Survey | None = None) -> int:
    from ingest.indexing import ingest

    report = ingest(paths or [settings.corpus_dir], settings, rebuild=rebuild, show_bar=not quiet, look=look)
    return print_report(report)


def print_report(report: IngestReport) -> int:
    """The ingestion's report (:func:`ingest.report.report_lines`) on stderr; returns the exit status."""
    from ingest.report import report_lines

    for line in report_lines(report):
        print(line, file=sys.stderr)
    return report.exit_code


def run_ask(question: str, settings: Settings, as_json: bool) -> int:
    from rag.answer.answering import build_answerer, clean_question
    from rag.answer.quick import QuickAnswer
    from rag.answer.results import Answer, Reading, Token
    from rag.text.language import detect_language, message
    from rag.text.sentences import short_title

    clean_question(question, settings.max_question_chars)  # a bad question needs no index or model
    answerer = build_answerer(settings)
    if as_json:
        print(json.dumps(answerer.ask(question).to_json(), ensure_ascii=False))
        return EXIT_OK
    final: Answer | None = None
    quick: QuickAnswer | None = None
    for event in answerer.stream(question):
        if isinstance(event, Token):
            continue  # the raw tokens are unchecked; print only the checked answer
        if isinstance(event, Reading):  # progress, not the answer: on stderr
            said = message(
                "reading", detect_language(question), n=event.n, title=short_title(event.title), source=event.source
            )
            print(said, file=sys.stderr, flush=True)
            continue
        if isinstance(event, QuickAnswer):
            # The fact as the article states it, on screen before the LLM has finished.
            print(f"» {' '.join(event.text.split())} [{event.passage}]\n", flush=True)
            quick = event
            continue
        final = event
    assert final is not None
    print(final.answer)
    # The sentence the answer rests on, when it is not the one the instant answer showed.
    if final.support is not None and (quick is None or final.support.text != quick.text):
        print(f"« {' '.join(final.support.text.split())} [{final.support.passage}]")
    if final.unsupported_numbers:
        print(f"  (!) not in the cited passages: {', '.join(final.unsupported_numbers)}")
    shown = {c.n for c in final.citations}
    for c in final.citations:
        place = f", {c.place}" if c.place else ""
        print(f"\n[{c.n}] {c.title} — {c.source}{place}\n    {' '.join(c.text.split())}")
    # The passage the instant answer quoted, when the answer cites another: its [n] must lead somewhere.
    if quick is not None and quick.passage not in shown and 0 < quick.passage <= len(final.passages):
        p = final.passages[quick.passage - 1]
        print(
            f"\n[{quick.passage}] {p.title} — {p.name} (quoted by the instant answer)\n    {' '.join(p.text.split())}"
        )
    return EXIT_OK


def run_chat(settings: Settings, host: str, port: int, auth: str | None) -> int:
    from ui.server import launch, parse_auth

    source = "--auth"
    if auth is None and settings.chat_auth is not None:
        auth, source = settings.chat_auth.get_secret_value(), "NEWSQA_CHAT_AUTH"
    try:
        credentials = parse_auth(auth)
    except ValueError:
        print(f"newsqa: error: {source} takes user:password (both non-empty)", file=sys.stderr)
        return EXIT_USAGE
    launch(settings, host=host, port=port, auth=credentials)
    return EXIT_OK


def run_models(settings: Settings) -> int:
    from rag.models.embedding import get_embeddings
    from rag.models.gguf import ensure_gguf

    embeddings = get_embeddings(settings)
    embeddings.prepare()
    if embeddings.backend == "onnx-int8":
        pass  # prepare() built the int8 export, offline, from the converted model
    elif embeddings.model == BUILTIN_EMBEDDING_MODEL and importlib.util.find_spec("onnxruntime"):
        # Built now too, so switching NEWSQA_EMBEDDING_BACKEND later needs no build at run time.
        embeddings.onnx_encoder()
    print(f"embedding model ready in {settings.model_dir}", file=sys.stderr)
    print(f"LLM ready: {ensure_gguf(settings)}", file=sys.stderr)
    return EXIT_OK


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    from evaluation.running import EvalOptions, evaluate

    options = EvalOptions(
        qa=args.qa,
        corpus=args.corpus,
        lang=args.lang,
        limit=args.limit,
        seed=args.seed,
        retrieval_only=args.retrieval_only,
        unanswerable=args.unanswerable,
        context=args.context,
        fresh_index=args.fresh_index,
        details=args.details,
        record_db_url=args.record_db_url,
    )
    report = evaluate(options, settings, show_bar=not args.quiet)
    print(json.dumps(report.to_json(), ensure_ascii=False) if args.json else report.table())
    return EXIT_OK


def run_eval_split(args: argparse.Namespace) -> int:
    from evaluation.dataset import load_qa, split_unanswerable

    split = split_unanswerable(load_qa(args.qa), args.corpus, args.out, seed=args.seed)
    print(
        f"{split.corpus_dir}: the corpus without {len(split.removed)} article(s)\n"
        f"{split.answerable}: questions it can answer\n{split.unanswerable}: questions it cannot answer\n"
        f"{split.calibration}, {split.test}: the same for two halves of the articles (`newsqa calibrate`)"
    )
    return EXIT_OK


def run_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    from evaluation.calibrating import calibrate

    result = calibrate(args.split, settings, args.false_refusal, show_bar=not args.quiet)
    if args.json:
        print(json.dumps(result.to_json()))
        return EXIT_OK
    print(f"Refusals on {args.split / 'test'} (the gate was fitted on {args.split / 'calibration'}):")
    print(result.table())
    print(f"\nTo refuse {args.false_refusal:.0%} of the calibration half's answerable questions, set:")
    print(result.settings_lines())
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``newsqa`` command."""
    offline_environment()  # before any command imports a model library (rag.settings.offline_environment)
    args = build_parser().parse_args(argv)
    _quiet_libraries()
    settings = get_settings()
    look = None
    if args.command == "ingest" and not args.rebuild:
        from ingest.manifest import survey

        # Checked before torch, Chroma or the tokenizer are imported: an unchanged corpus takes a
        # fraction of a second instead of the seconds those imports alone cost; otherwise ingestion
        # reuses this look at the files (a big folder is listed once).
        look = survey(args.paths or [settings.corpus_dir], settings)
        report = look.unchanged_report()
        if report is not None:
            return print_report(report)
    from evaluation.dataset import QAFileError
    from evaluation.running import EvalSetupError
    from rag.answer.results import QuestionError
    from rag.models.gguf import ModelSetupError
    from rag.store import StoreError

    try:
        if args.command == "ingest":
            return run_ingest(args.paths, settings, args.rebuild, args.quiet, look)
        if args.command == "ask":
            return run_ask(args.question, settings, args.json)
        if args.command == "chat":
            return run_chat(settings, args.host, args.port, args.auth)
        if args.command == "eval":
            return run_eval(args, settings)
        if args.command == "eval-split":
            return run_eval_split(args)
        if args.command == "calibrate":
            return run_calibrate(args, settings)
        return run_models(settings)
    except QuestionError as exc:
        print(f"newsqa: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (QAFileError, EvalSetupError) as exc:  # a bad question file or option: the user's to fix
        print(f"newsqa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, ModelSetupError, FileNotFoundError) as exc:
        print(f"newsqa: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("newsqa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

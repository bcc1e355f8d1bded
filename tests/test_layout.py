"""The package layering: rag is shared by all, ingest builds on rag, evaluation and ui sit on top."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"rag": {"ingest", "ui", "evaluation"}, "ingest": {"ui", "evaluation"}, "evaluation": {"ui"}}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# Inside rag, each stage builds only on the ones before it: text helpers need nothing, the models need
# the settings, the store needs the models' embeddings interface, retrieval reads the store, and
# answering uses them all. A module may import its own stage and the stages listed before it.
RAG_STAGES = ["settings", "text", "models", "store", "retrieval", "answer"]


def rag_stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "rag" and len(parts) > 1 else None


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_rag_is_grouped_by_stage():
    top = {p.stem for p in (ROOT / "rag").glob("*.py")} | {p.name for p in (ROOT / "rag").iterdir() if p.is_dir()}
    assert top - {"__init__", "__pycache__"} == set(RAG_STAGES)


def test_rag_stages_import_only_earlier_stages():
    offenders = {}
    for path in (ROOT / "rag").rglob("*.py"):
        own = rag_stage(".".join(path.relative_to(ROOT).with_suffix("").parts))
        if own not in RAG_STAGES:
            continue  # rag/__init__.py
        later = set(RAG_STAGES[RAG_STAGES.index(own) + 1 :])
        bad = sorted(m for m in imported_modules(path) if rag_stage(m) in later)
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


# A module a newcomer can read in one sitting holds one component; past this many lines it holds several.
MAX_MODULE_LINES = 450
SIZED_PACKAGES = ["rag", "ingest", "ui", "evaluation"]


def test_no_module_holds_several_components():
    lines = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for package in SIZED_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    too_long = {path: count for path, count in lines.items() if count > MAX_MODULE_LINES}
    report = "\n".join(f"  {path}: {count} lines" for path, count in sorted(too_long.items()))
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them by component):\n{report}"


# A private (`_name`) name is free to change with its own module; code elsewhere that imports it breaks
# without warning. "Elsewhere" is another top-level package (bench and tests included, and any library),
# or inside rag another stage.
IMPORTING_PACKAGES = ["rag", "ingest", "ui", "evaluation", "bench", "tests"]


def owner(module: str) -> str:
    """The unit a dotted module belongs to: its top-level package, or ``rag.<stage>`` inside rag."""
    stage = rag_stage(module)
    return f"rag.{stage}" if stage in RAG_STAGES else module.split(".")[0]


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def private_imports(source: str, importer: str) -> list[str]:
    """Every private name (or module) that module ``importer`` imports from a unit other than its own."""
    own = owner(importer)
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            pairs = [(alias.name, alias.name.split(".")) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            pairs = [(node.module, node.module.split(".") + [alias.name]) for alias in node.names]
        else:
            continue  # relative imports stay inside their own package
        for module, parts in pairs:
            if owner(module) != own and any(is_private(part) for part in parts[1:]):
                found.append(f"line {node.lineno}: {'.'.join(parts)}")
    return found


def test_private_imports_finds_every_form():
    source = """
from rag.store import (
    open_store,
    _forget_clients,
)
import rag.store._locking
from rag.text.sentences import skip_space as _skip_space
from rag.answer.quick import _cosine
from langchain_core.indexing.api import _get_document_with_hash
from __future__ import annotations
from .quick import _cosine
"""
    assert private_imports(source, "rag.answer.answering") == [
        "line 2: rag.store._forget_clients",
        "line 6: rag.store._locking",
        "line 9: langchain_core.indexing.api._get_document_with_hash",
    ]
    assert "line 8: rag.answer.quick._cosine" in private_imports(source, "tests.rag.answer.test_quick")


def test_no_private_name_is_imported_across_packages():
    offenders = {
        str(path.relative_to(ROOT)): bad
        for package in IMPORTING_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if (bad := private_imports(path.read_text(encoding="utf-8"), module_name(path)))
    }
    report = "\n".join(f"  {path}: {', '.join(bad)}" for path, bad in sorted(offenders.items()))
    assert not offenders, f"private names imported across packages (make them public or move the code):\n{report}"

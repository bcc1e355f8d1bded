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

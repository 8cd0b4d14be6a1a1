#!/usr/bin/env bash
# Installs everything rmb needs to build and test, from Debian's packages.
# Idempotent: run it on a fresh machine or again after a pull.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config clang libclang-rt-14-dev  # compilers, sanitizer and fuzzer runtimes
  libjansson-dev         # JSON: results files, configs, tokenizer.json
  libyajl-dev            # streaming JSON for the 93 MB benchmark (3x faster than a tree parser)
  libsqlite3-dev         # run store
  libcurl4-openssl-dev   # remote scorers
  libonig-dev            # tokenizer pre-tokenizer regexes (the engine HF tokenizers uses)
  libutf8proc-dev        # Unicode normalization
  python3                # test oracles (standard library only for metrics)
  python3-jinja2         # chat-template oracle
  python3-torch          # model oracle
  libopenblas0-pthread   # a real BLAS for PyTorch (without it Debian's torch uses the netlib reference, ~10x slower)
  libmicrohttpd-dev      # test HTTP server for remote scorers
  chromium               # renders rmb report's HTML headless in the tests
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js (with its npm) runs the tokenizer oracles; the machine may carry its own build.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

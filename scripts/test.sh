#!/usr/bin/env bash
# Runs every test: installs what the tests need, builds rmb with gcc and runs
# the suite, builds it again with clang + ASan/UBSan and runs the suite under
# the sanitizers, then runs each fuzz target briefly.  Exits non-zero on any
# failure.  .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/setup.sh

# Test oracles from npm (Hugging Face tokenizers, Jinja), pinned by the lockfile.
if [ -f tests/oracles/package-lock.json ]; then
  (cd tests/oracles && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== build (gcc) and test"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== build (clang, ASan + UBSan) and test"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRMB_SANITIZE=ON -DRMB_FUZZ=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs" -LE slow)

echo "== fuzz (short runs)"
for target in build-asan/fuzz/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus=fuzz/corpus/${name#fuzz_}
  work=$(mktemp -d)
  [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
  echo "-- $name"
  "$target" -max_total_time="${RMB_FUZZ_SECONDS:-20}" -rss_limit_mb=2048 "$work" 2>&1 | tail -n 2
  rm -rf "$work"
done
echo "all tests passed"

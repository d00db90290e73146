#!/usr/bin/env bash
# The test suite's fuzz smoke run: builds every fuzz target once and runs each for FUZZ_SMOKE_SECONDS (default 20)
# from its committed seeds only (a fresh corpus, so the run does not depend on earlier ones); fails on any crash
# and prints the executions per target. Longer runs: fuzz/run.sh.
set -euo pipefail
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
FUZZ_CORPUS_DIR="$corpus" "$(dirname "$0")/run.sh" "${FUZZ_SMOKE_SECONDS:-20}" "$@"

#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, one after the other at low priority, and reports
# executions and crashes per target and in total. Exits non-zero if any target crashed (a panic, an abort, a
# timeout of a single input or running out of memory); the crashing inputs are kept in fuzz/artifacts/<target>/.
#
#   fuzz/run.sh [SECONDS-PER-TARGET] [TARGET...]        default 300 s, every target
#
# Each target starts from its committed seeds (fuzz/seeds/<target>) and the working corpus it grew before
# (fuzz/corpus/<target>, git-ignored), with its dictionary (fuzz/dict/<target>.dict).
# Environment: FUZZ_CORPUS_DIR (default fuzz/corpus; smoke.sh uses a fresh temporary one), FUZZ_TOOLCHAIN (nightly).
# Installs cargo-fuzz and the nightly toolchain when missing.
set -euo pipefail

FUZZ_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$FUZZ_DIR")"
SECONDS_PER_TARGET="${1:-300}"
shift || true
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
CORPUS_DIR="${FUZZ_CORPUS_DIR:-$FUZZ_DIR/corpus}"
TARGET_DIR="$FUZZ_DIR/target"
ALL_TARGETS=(assertion token_request bearer scim_filter scim_patch strict_json admin_body)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")

[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS-PER-TARGET] [TARGET...]" >&2; exit 2; }
# Installed here, only when missing, rather than with the other test tools: CI runs the fuzz smoke run in the
# background, so compiling cargo-fuzz there does not hold up the tests.
if command -v rustup >/dev/null 2>&1 && ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
  echo "fuzz: installing the $TOOLCHAIN toolchain (rustup)"
  rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (cargo install)"
  nice cargo install cargo-fuzz --locked --quiet
fi

# Release with debug assertions and overflow checks; no sanitizer: the code under test forbids `unsafe`
# (workspace lint), so AddressSanitizer would halve the executions per second for nothing it could find.
# `cargo fuzz build` builds one target or all of them.
build_only=()
[ ${#TARGETS[@]} -eq 1 ] && build_only=("${TARGETS[0]}")
build_start=$(date +%s)
(cd "$ROOT" && env -u CARGO_TARGET_DIR nice cargo "+$TOOLCHAIN" fuzz build --release --debug-assertions \
  --sanitizer none --target-dir "$TARGET_DIR" "${build_only[@]}")
echo "fuzz: targets built in $(( $(date +%s) - build_start )) s"
BIN_DIR="$TARGET_DIR/$(rustc "+$TOOLCHAIN" -vV | sed -n 's/^host: //p')/release"

total_runs=0
total_crashes=0
summary=()
for target in "${TARGETS[@]}"; do
  [ -x "$BIN_DIR/$target" ] || { echo "fuzz: no such target: $target" >&2; exit 2; }
  corpus="$CORPUS_DIR/$target"
  artifacts="$FUZZ_DIR/artifacts/$target"
  log="$FUZZ_DIR/artifacts/$target.log"
  mkdir -p "$corpus" "$artifacts"
  status=0
  nice "$BIN_DIR/$target" "$corpus" "$FUZZ_DIR/seeds/$target" \
    -dict="$FUZZ_DIR/dict/$target.dict" \
    -max_total_time="$SECONDS_PER_TARGET" \
    -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ -z "$runs" ]; then
    runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
  fi
  runs=${runs:-0}
  crashes=0
  if [ "$status" -ne 0 ]; then
    crashes=1
    echo "fuzz: $target FAILED (exit $status); last lines of $log:" >&2
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | tail -8 >&2 || tail -20 "$log" >&2
  fi
  corpus_size=$(find "$corpus" -type f | wc -l)
  line=$(printf '%-14s %12d executions in %4d s (%7d/s), %d crashes, corpus %d' "$target" "$runs" \
    "$SECONDS_PER_TARGET" "$(( runs / (SECONDS_PER_TARGET > 0 ? SECONDS_PER_TARGET : 1) ))" "$crashes" "$corpus_size")
  echo "fuzz: $line"
  summary+=("$line")
  total_runs=$(( total_runs + runs ))
  total_crashes=$(( total_crashes + crashes ))
done

echo "fuzz: ---- summary ----"
printf 'fuzz: %s\n' "${summary[@]}"
echo "fuzz: total          $total_runs executions, $total_crashes crashes"
[ "$total_crashes" -eq 0 ]

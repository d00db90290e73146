#!/usr/bin/env bash
# The deployable artifact, built and checked the way `sam build && sam deploy` will build it (issue 13, part 5):
#   1. `sam validate --lint` on infra/template.yaml (SAM's own schema checks plus its cfn-lint);
#   2. `sam build` into $CARGO_TARGET_DIR/sam (git-ignored): SAM's rust-cargolambda builder runs
#      `cargo lambda build --release --arm64 --bin <Binary>` in each function's crate, cross-compiling with zig;
#   3. `lambda_artifacts` (crate infra-checks): every function of the template got a `bootstrap` that is a 64-bit
#      AArch64 executable (ELF e_machine 183), with its size, and the ratio to the x86_64 release binary of the same
#      function when one exists in $CARGO_TARGET_DIR/release (the cold-start benchmark builds them).
# Offline apart from the package registries: no AWS credentials, no Docker. Missing tools (aws-sam-cli in its own
# virtualenv, cargo-lambda with ziglang, the aarch64-unknown-linux-gnu standard library) come from
# infra/local/install-tools.sh --sam. Every function shares one cargo target directory (CARGO_TARGET_DIR), so
# the dependencies are compiled once for all of them, and a later run rebuilds only what changed.
# Environment: SAM_BUILD_MODE=debug builds unoptimised binaries (faster, not the deployable ones; sizes then mean
# nothing); WIF_SAM_CARGO_TARGET_DIR gives the arm64 build its own (persistent) cargo target directory;
# WIF_SAM_BUILD_DIR moves the build directory; WIF_SAM_X86_DIR the x86_64 binaries compared against;
# WIF_ARTIFACT_CHECKER an already built lambda_artifacts (the test command passes the one its test step built, so
# this script builds nothing in the debug directory the end-to-end tests are using).
#
#   infra/checks/sam_build.sh [--validate-only]
#
# --validate-only stops after step 1. The test command runs the whole script, in the background beside the
# end-to-end steps at the lowest CPU priority; every function depends on shared/unified-features, so the
# per-function builds resolve the same dependency features and compile each dependency once.
set -euo pipefail
cd "$(dirname "$0")/../.."
validate_only=false
[ "${1:-}" = "--validate-only" ] && validate_only=true
source infra/local/common.sh

TEMPLATE=infra/template.yaml
ARM64_TARGET=aarch64-unknown-linux-gnu
# The arm64 release build shares nothing with the debug test builds, so it may live in its own target directory,
# one that outlives a fresh clone (CI): cargo then reuses every registry crate and rebuilds only the workspace's.
SAM_TARGET_DIR="${WIF_SAM_CARGO_TARGET_DIR:-$CARGO_TARGET_DIR}"
BUILD_ROOT="${WIF_SAM_BUILD_DIR:-$SAM_TARGET_DIR/sam}"
X86_DIR="${WIF_SAM_X86_DIR:-$CARGO_TARGET_DIR/release}"

step() { printf -- '--> %s\n' "$*"; }
sam_cli() {
  if [ -x "$SAM_CLI_VENV/bin/sam" ]; then "$SAM_CLI_VENV/bin/sam" "$@"; else sam "$@"; fi
}
arm64_std_present() {
  # Without rustup (a distribution's Rust) there is nothing to check: cargo reports a missing target itself.
  command -v rustup >/dev/null 2>&1 || return 0
  rustup target list --installed 2>/dev/null | grep -qx "$ARM64_TARGET"
}
tools_present() {
  { [ -x "$SAM_CLI_VENV/bin/sam" ] || command -v sam >/dev/null 2>&1; } \
    && command -v cargo-lambda >/dev/null 2>&1 && arm64_std_present
}
if ! tools_present; then
  step "installing missing tools (infra/local/install-tools.sh --sam)"
  infra/local/install-tools.sh --sam
  tools_present || die "aws-sam-cli, cargo-lambda or the $ARM64_TARGET standard library is still missing"
fi

# Nothing here may reach AWS: SAM needs a region for its checks, never credentials. No telemetry either.
export AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 SAM_CLI_TELEMETRY=0
export CARGO_INCREMENTAL=0

started=$SECONDS
# Built first: the test command runs this script beside the end-to-end tests, whose `cargo test` then holds the debug
# build directory until it ends.
step "sam validate --lint $TEMPLATE ($(sam_cli --version))"
sam_cli validate --lint --template-file "$TEMPLATE"
validated=$SECONDS
if $validate_only; then
  printf 'sam validate --lint passed in %d s (--validate-only: no arm64 build)\n' $((validated - started))
  exit 0
fi
checker="${WIF_ARTIFACT_CHECKER:-}"
if [ -z "$checker" ]; then
  step "building the artifact checker (lambda_artifacts)"
  cargo build --quiet -p infra-checks --bin lambda_artifacts
  checker="$CARGO_TARGET_DIR/debug/lambda_artifacts"
fi

mode="release"
[ "${SAM_BUILD_MODE:-}" = "debug" ] && mode="debug (SAM_BUILD_MODE)"
step "sam build ($mode, arm64, cargo target directory $SAM_TARGET_DIR) into $BUILD_ROOT/build"
rm -rf "$BUILD_ROOT/build"
CARGO_TARGET_DIR="$SAM_TARGET_DIR" \
  sam_cli build --template-file "$TEMPLATE" --build-dir "$BUILD_ROOT/build" --cache-dir "$BUILD_ROOT/cache"
built=$SECONDS

step "checking every function's bootstrap (ELF machine AArch64 = 183), sizes against $X86_DIR"
"$checker" "$TEMPLATE" "$BUILD_ROOT/build" "$X86_DIR"

printf 'sam build checks passed: validate %d s, build %d s, total %d s\n' \
  $((validated - started)) $((built - validated)) $((SECONDS - started))

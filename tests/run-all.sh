#!/usr/bin/env bash
# Runs every test of the project, from a fresh clone:
#   tools (pip and apt, by package name) → format and lint checks → unit and integration tests (moto per test
#   binary) → the local stack → end-to-end tests through it (Entra stand-in, the portal in headless Chromium, SCIM
#   conformance with scim2-cli, Microsoft's Postman collection with newman) → IaC checks.
# Exits non-zero on the first failure. The local stack it starts is stopped again on exit, unless it was already
# running before (then it is left as found).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO_ROOT="$(pwd)"
source infra/local/common.sh

# Each step says when it started (minutes:seconds into the run), so a slow CI run shows where its time went.
step() { printf '\n==> [%02d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

step "installing missing tools"
infra/local/install-tools.sh --test

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "unit and integration tests"
# The Entra stand-in also runs against the reference scim2-server; on CI that must not silently skip.
export ENTRA_SIM_REQUIRE_SCIM2=1
cargo test --workspace --quiet --no-fail-fast --exclude e2e-tests --exclude browser-tests

stack_was_running=false
if pid_alive "$STATE_DIR/pids/lambda" && port_open "$LAMBDA_PORT"; then
  stack_was_running=true
fi
sam_build_pid=""
cleanup() {
  if [ -n "$sam_build_pid" ] && kill -0 "$sam_build_pid" 2>/dev/null; then
    kill -- "-$sam_build_pid" 2>/dev/null || true
  fi
  if ! $stack_was_running; then
    infra/local/stop.sh >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# The deployable artifact (issue 13, part 5): `sam validate --lint`, then `sam build` of every function for arm64
# (the deployable release profile, cross-compiled) and the ELF check. It shares no build with the debug tests, and
# the end-to-end stage mostly waits on moto and the local stack, so it runs beside the rest at the lowest CPU
# priority and is waited for at the end.
SAM_BUILD_LOG="$STATE_DIR/logs/sam-build.log"
mkdir -p "$(dirname "$SAM_BUILD_LOG")"
step "arm64 sam build started in the background (log: $SAM_BUILD_LOG)"
# Its own session, so a failed run can stop the whole build (cargo, rustc, zig) by process group.
# `cargo test --workspace` above built its ELF checker (integration tests build their package's binaries).
WIF_ARTIFACT_CHECKER="$CARGO_TARGET_DIR/debug/lambda_artifacts" \
  setsid nice -n 19 infra/checks/sam_build.sh >"$SAM_BUILD_LOG" 2>&1 &
sam_build_pid=$!

step "starting the local stack (with the demo provisioning cycle)"
# Nothing rebuilds or restarts the functions mid-run when a file changes (cargo lambda watch would by default).
WIF_LOCAL_RELOAD=false infra/local/start.sh

step "end-to-end tests against the local stack"
WIF_E2E_REQUIRED=1 cargo test -p e2e-tests --quiet --no-fail-fast -- --test-threads 4

step "browser tests of the customer portal (headless Chromium through chromedriver) against the local stack"
WIF_E2E_REQUIRED=1 cargo test -p browser-tests --test portal --quiet

step "SCIM conformance (scim2-cli) against the local stack"
tests/e2e/scim2_conformance.sh

step "Microsoft's SCIM Postman collection (newman) against the local stack"
tests/newman/run.sh

step "infrastructure checks (cfn-lint, SAM transform, checkov)"
infra/checks/run.sh

step "fuzz smoke runs (every fuzz target for about 20 s from its seeds)"
fuzz/smoke.sh

step "waiting for the arm64 sam build (sam validate --lint, sam build, ELF check of every bootstrap)"
if wait "$sam_build_pid"; then
  tail -n 20 "$SAM_BUILD_LOG"
else
  tail -n 60 "$SAM_BUILD_LOG"
  die "infra/checks/sam_build.sh failed (full log: $SAM_BUILD_LOG)"
fi

printf '\nAll tests passed in %d min %02d s.\n' $((SECONDS / 60)) $((SECONDS % 60))

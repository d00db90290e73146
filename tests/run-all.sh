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
background_pids=()
cleanup() {
  for pid in "${background_pids[@]}"; do
    kill -- "-$pid" 2>/dev/null || true
  done
  if ! $stack_was_running; then
    infra/local/stop.sh >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

step "starting the local stack (with the demo provisioning cycle)"
# Nothing rebuilds or restarts the functions mid-run when a file changes (cargo lambda watch would by default).
WIF_LOCAL_RELOAD=false infra/local/start.sh

# SAM's template validation and the fuzz smoke runs need no stack. They run beside the end-to-end tests at the lowest
# CPU priority: those tests mostly wait on moto, which answers one request at a time on one core, so the background
# jobs take the idle CPU instead of adding their own ten-odd minutes to the run.
background_jobs=()
background_pids=()
background() { # id description command...
  local id="$1" description="$2"
  shift 2
  mkdir -p "$STATE_DIR/logs"
  # Its own process group, so that a failing run stops it with everything it started.
  setsid bash -c 'nice -n 19 "${@:3}" >"$1" 2>&1; echo $? >"$2"' background "$STATE_DIR/logs/ci-$id.log" \
    "$STATE_DIR/logs/ci-$id.rc" "$@" &
  background_pids+=("$!")
  background_jobs+=("$id")
  printf '    in the background: %s (log: %s)\n' "$description" "$STATE_DIR/logs/ci-$id.log"
}
rm -f "$STATE_DIR"/logs/ci-*.rc
background sam-validate "sam validate --lint (the full arm64 build, infra/checks/sam_build.sh, is too slow for CI)" \
  infra/checks/sam_build.sh --validate-only
background fuzz-smoke "the fuzz smoke runs (about 20 s per target)" fuzz/smoke.sh

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

step "waiting for the background jobs"
wait
failed=false
for id in "${background_jobs[@]}"; do
  log_file="$STATE_DIR/logs/ci-$id.log"
  rc="$(cat "$STATE_DIR/logs/ci-$id.rc" 2>/dev/null || echo missing)"
  printf '\n--- %s (exit %s), the end of its log:\n' "$id" "$rc"
  tail -n 40 "$log_file"
  [ "$rc" = 0 ] || failed=true
done
$failed && { printf '\nA background job failed (full logs in %s/logs).\n' "$STATE_DIR"; exit 1; }

printf '\nAll tests passed in %d min %02d s.\n' $((SECONDS / 60)) $((SECONDS % 60))

#!/usr/bin/env bash
# Installs what the local stack and the test suite need, by package name, only when missing:
#   moto[server] (DynamoDB-compatible server), cargo-lambda (function emulator), and with --test also
#   scim2-cli (SCIM conformance), scim2-server (reference server for the Entra stand-in's own tests), cfn-lint,
#   aws-sam-translator and checkov (offline IaC checks), Debian's chromium and chromium-driver (the portal's
#   browser tests, with apt-get, only when missing), and newman (npm; runs Microsoft's SCIM Postman collection)
#   into the state directory, so no global npm install is needed. With --sam instead: what the deployable-artifact
#   check (infra/checks/sam_build.sh) needs beside moto and cargo-lambda: aws-sam-cli, in its own virtualenv
#   ($SAM_CLI_VENV, so its pinned dependencies leave the tools above alone), and the aarch64-unknown-linux-gnu
#   standard library (rustup) that cargo-lambda cross-compiles the arm64 functions against. (cargo-fuzz and the
#   nightly toolchain are installed by fuzz/run.sh itself, when missing.) The CI run installs the --sam and fuzz
#   tools in its background jobs, so they do not hold up the tests.
set -euo pipefail
source "$(dirname "$0")/common.sh"

want_test_tools=false
want_sam_tools=false
[ "${1:-}" = "--test" ] && want_test_tools=true
[ "${1:-}" = "--sam" ] && want_sam_tools=true

PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || die "python3 is required (pip installs moto and cargo-lambda)"

missing=()
"$PY" -c 'import moto.server, flask, werkzeug' 2>/dev/null || missing+=("moto[server]")
command -v cargo-lambda >/dev/null 2>&1 || missing+=("cargo-lambda")
if $want_test_tools; then
  command -v scim2 >/dev/null 2>&1 || missing+=("scim2-cli")
  command -v cfn-lint >/dev/null 2>&1 || missing+=("cfn-lint")
  "$PY" -c 'import samtranslator' 2>/dev/null || missing+=("aws-sam-translator")
  command -v checkov >/dev/null 2>&1 || missing+=("checkov")
  "$PY" -c 'import scim2_server' 2>/dev/null || missing+=("scim2-server")
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  "$PY" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
  # pyenv and similar installs put console scripts in a directory that needs a rehash to appear on PATH.
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi
if $want_sam_tools && [ ! -x "$SAM_CLI_VENV/bin/sam" ] && ! command -v sam >/dev/null 2>&1; then
  log "installing: aws-sam-cli (pip, into the virtualenv $SAM_CLI_VENV)"
  "$PY" -m venv "$SAM_CLI_VENV"
  "$SAM_CLI_VENV/bin/python" -m pip install --quiet --disable-pip-version-check aws-sam-cli
fi
if $want_sam_tools && command -v rustup >/dev/null 2>&1 \
  && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  log "installing: the aarch64-unknown-linux-gnu standard library (rustup target add)"
  rustup target add aarch64-unknown-linux-gnu
fi
if $want_test_tools && ! { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }; then
  command -v apt-get >/dev/null 2>&1 || die "chromium and chromedriver are missing and apt-get is not available"
  log "installing: chromium chromium-driver (apt-get)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if $want_test_tools && ! command -v newman >/dev/null 2>&1 && [ ! -x "$STATE_DIR/npm/node_modules/.bin/newman" ]; then
  command -v npm >/dev/null 2>&1 || die "npm (Node.js 16 or later) is required to install newman"
  log "installing: newman (npm, into $STATE_DIR/npm)"
  npm install --silent --no-audit --no-fund --prefix "$STATE_DIR/npm" newman@6 >/dev/null
fi
command -v moto_server >/dev/null 2>&1 || die "moto_server is not on PATH after installing moto[server]"
command -v cargo-lambda >/dev/null 2>&1 || die "cargo-lambda is not on PATH after installing it"

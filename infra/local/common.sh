# Shared settings of the local-stack scripts (sourced, not run).
# Everything listens on 127.0.0.1 only. Ports can be moved with the variables below.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE_DIR="${WIF_LOCAL_STATE_DIR:-$REPO_ROOT/.local-stack}"
DYNAMODB_PORT="${WIF_LOCAL_DYNAMODB_PORT:-8000}"
LAMBDA_PORT="${WIF_LOCAL_LAMBDA_PORT:-9000}"
ENTRA_PORT="${WIF_LOCAL_ENTRA_PORT:-9100}"
ENTRA_CONTROL_PORT="${WIF_LOCAL_ENTRA_CONTROL_PORT:-9101}"
# The functions reach moto through the fault-injecting proxy (tests/testkit, `dynamodb-fault-proxy`): pass-through
# until a test programs faults on its control port. Defaults sit 10 and 11 above the DynamoDB port.
DYNAMODB_PROXY_PORT="${WIF_LOCAL_DYNAMODB_PROXY_PORT:-$((DYNAMODB_PORT + 10))}"
DYNAMODB_FAULTS_PORT="${WIF_LOCAL_DYNAMODB_FAULTS_PORT:-$((DYNAMODB_PORT + 11))}"
TABLE_PREFIX="${WIF_LOCAL_TABLE_PREFIX:-local}"
# Instances cargo lambda watch may run per function. 4 keeps requests really concurrent (the end-to-end race tests
# need that) without the emulator's start-up storm: it spawns up to this many instances of every function while the
# first one compiles, and at 16 (64 processes) one request was seen left unanswered for good.
LAMBDA_CONCURRENCY="${WIF_LOCAL_LAMBDA_CONCURRENCY:-4}"
# Demo customer as the Entra stand-in presents it.
DEMO_TENANT_GUID="${WIF_LOCAL_DEMO_TID:-6b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
# AWS SAM CLI lives in its own virtualenv (infra/local/install-tools.sh --test): its pinned dependencies (boto3,
# cfn-lint, aws-sam-translator, Flask) must not move the versions moto, checkov and the IaC checks run with.
SAM_CLI_VENV="${WIF_SAM_CLI_VENV:-$STATE_DIR/sam-cli}"

LAMBDA_BASE="http://127.0.0.1:$LAMBDA_PORT/lambda-url"
TOKEN_URL="$LAMBDA_BASE/token/oauth2/token"
SCIM_URL="$LAMBDA_BASE/scim/scim/v2"
ADMIN_URL="$LAMBDA_BASE/admin/clients"
EVENTS_BASE="$LAMBDA_BASE/events-feed"
EVENTS_URL="$EVENTS_BASE/events"
PORTAL_URL="$LAMBDA_BASE/portal"
# The portal's app registration at the Entra stand-in (a fixed id: the stand-in forgets apps when it restarts).
PORTAL_CLIENT_ID="${WIF_LOCAL_PORTAL_CLIENT_ID:-0a5e2c1f-7d3b-4f4e-9c8d-1b2a3c4d5e6f}"
# The second demo tenant of the stand-in's sign-in page (entra-sim oidc::users::SECOND_TENANT_ID).
SECOND_TENANT_GUID="c7d1e5a2-3b4f-4c6d-8e9f-a0b1c2d3e4f5"
DYNAMODB_URL="http://127.0.0.1:$DYNAMODB_PORT"
DYNAMODB_PROXY_URL="http://127.0.0.1:$DYNAMODB_PROXY_PORT"
DYNAMODB_FAULTS_URL="http://127.0.0.1:$DYNAMODB_FAULTS_PORT"
ENTRA_URL="http://127.0.0.1:$ENTRA_PORT"
ENTRA_CONTROL_URL="http://127.0.0.1:$ENTRA_CONTROL_PORT"

log() { printf '[local-stack] %s\n' "$*" >&2; }
die() { printf '[local-stack] error: %s\n' "$*" >&2; exit 1; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # port seconds what
  local deadline=$((SECONDS + $2))
  until port_open "$1"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# Stops a process group started with setsid, by the PID file; waits for it to go.
stop_by_pidfile() {
  local file="$1" name="$2" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

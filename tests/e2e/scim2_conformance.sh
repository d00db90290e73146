#!/usr/bin/env bash
# Third-party SCIM conformance: python-scim's scim2-cli (`scim2 --url <SCIM base> test`, scim2-tester underneath)
# against the running local stack (infra/local/start.sh), with a real access token obtained the way Entra gets one
# (an Entra-shaped client assertion from the stand-in, exchanged at our token endpoint). The run gets a customer of
# its own (a new registration for the demo Entra workload, so a new, empty ISV tenant): the checks list and search
# the directory and must not depend on what the demo cycle provisioned. The token travels in SCIM_CLI_HEADERS, never
# on the command line. Fails on any check that is not SUCCESS (scim2 exits 1 then), on a missing stack, and when no
# check ran at all.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/local/common.sh

BIN="$CARGO_TARGET_DIR/debug"
REGISTRATION="$STATE_DIR/demo-registration.json"

command -v scim2 >/dev/null 2>&1 || python3 -m pip install --quiet scim2-cli
command -v scim2 >/dev/null 2>&1 || die "scim2 (pip package scim2-cli) is not on PATH"
port_open "$LAMBDA_PORT" || die "the local stack is not running on 127.0.0.1:$LAMBDA_PORT; start it with infra/local/start.sh"
[ -f "$REGISTRATION" ] || die "no demo registration at $REGISTRATION; start the stack with infra/local/start.sh"
[ -x "$BIN/entra-sim" ] || die "$BIN/entra-sim is missing; build the workspace first"

# The demo registration's Entra values, registered again as a new customer (the admin API assigns a new tenant).
request="$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d.get("registration", d)
print(json.dumps({k: r[k] for k in ("issuer", "jwks_uri", "subject", "audience", "expected_tid") if r.get(k)}
                 | {"display_name": "scim2-cli conformance"}))' "$REGISTRATION")"
answer="$(curl -sS -m 120 -X POST -H 'Content-Type: application/json' --data "$request" "$ADMIN_URL")" \
  || die "the admin API at $ADMIN_URL did not answer"
client_id="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$answer" 2>/dev/null)" \
  || die "registration for the conformance run failed: $answer"
token="$("$BIN/entra-sim" --state-dir "$STATE_DIR/entra" token --token-url "$TOKEN_URL" --client-id "$client_id" 2>/dev/null)" \
  || die "could not get an access token from $TOKEN_URL"

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
log "scim2 test against $SCIM_URL"
status=0
SCIM_CLI_HEADERS="Authorization: Bearer $token" scim2 --url "$SCIM_URL" test >"$out" 2>&1 || status=$?
cat "$out"
passed="$(grep -c '^SUCCESS ' "$out" || true)"
failed="$(grep -cE '^(COMPLIANT|ACCEPTABLE|DEVIATION|ERROR|CRITICAL|SKIPPED) ' "$out" || true)"
printf '%s passed, %s failed\n' "$passed" "$failed"
[ "$status" -eq 0 ] || die "scim2-cli reported failures (exit $status)"
[ "$failed" -eq 0 ] || die "scim2-cli reported $failed checks that are not SUCCESS"
[ "$passed" -gt 0 ] || die "scim2-cli ran no check"

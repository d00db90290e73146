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

source tests/e2e/customer_token.sh

command -v scim2 >/dev/null 2>&1 || python3 -m pip install --quiet scim2-cli
command -v scim2 >/dev/null 2>&1 || die "scim2 (pip package scim2-cli) is not on PATH"
token="$(customer_token "scim2-cli conformance")"

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

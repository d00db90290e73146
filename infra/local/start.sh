#!/usr/bin/env bash
# Starts the whole local stack on 127.0.0.1 and shows it working:
#   1. installs what is missing (moto[server], cargo-lambda) with pip,
#   2. builds the workspace (debug) so every function answers its first request quickly,
#   3. starts moto's DynamoDB-compatible server, creates the tables from infra/template.yaml, and starts the
#      fault-injecting proxy the functions reach it through (pass-through unless a test programs faults),
#   4. starts the Entra stand-in (signing keys + JWKS on loopback),
#   5. starts every function under `cargo lambda watch`,
#   6. registers a demo customer through the admin API, runs Entra's Test Connection, and (unless --no-demo)
#      provisions the sample directory the way Entra does, then prints the URLs and a summary;
#   7. sets up the customer portal: its signing key in moto's KMS, the certificate signed by it, the app at the
#      stand-in's OpenID provider, and the demo tenants linked to customer accounts (the demo sign-in is printed).
# Re-running while it runs only prints the URLs again. Stop it with infra/local/stop.sh.
set -euo pipefail
source "$(dirname "$0")/common.sh"

run_demo=true
for arg in "$@"; do
  case "$arg" in
    --no-demo) run_demo=false ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown option $arg (use --no-demo or --help)" ;;
  esac
done

mkdir -p "$STATE_DIR/logs" "$STATE_DIR/pids" "$STATE_DIR/entra"
ENV_FILE="$STATE_DIR/functions.env"
BIN="$CARGO_TARGET_DIR/debug"

print_urls() {
  cat <<URLS

Local stack is running (all on 127.0.0.1):
  token endpoint   $TOKEN_URL
  token metadata   $LAMBDA_BASE/token/.well-known/oauth-authorization-server
  SCIM base        $SCIM_URL
  admin API        $ADMIN_URL
  customer portal  $PORTAL_URL/
                   sign in at the Entra stand-in as adele (Application Administrator, demo tenant),
                   nestor (Global Reader, read-only), bianca (admin of a second tenant) or lynne (no access)
  DynamoDB (moto)  $DYNAMODB_URL  (functions use $DYNAMODB_PROXY_URL; faults: $DYNAMODB_FAULTS_URL/rules)
  Entra stand-in   $ENTRA_URL  (JWKS: $ENTRA_URL/$DEMO_TENANT_GUID/discovery/v2.0/keys)
  demo client      $(cat "$STATE_DIR/demo-client-id" 2>/dev/null || echo "(not registered)")
  logs             $STATE_DIR/logs/
Stop it with: infra/local/stop.sh
URLS
}

if pid_alive "$STATE_DIR/pids/moto" && pid_alive "$STATE_DIR/pids/dynamodb-proxy" && pid_alive "$STATE_DIR/pids/lambda" \
   && pid_alive "$STATE_DIR/pids/entra" && port_open "$LAMBDA_PORT" && port_open "$DYNAMODB_PORT" \
   && port_open "$DYNAMODB_PROXY_PORT" && port_open "$ENTRA_PORT"; then
  log "already running"
  print_urls
  exit 0
fi
# A half-started or crashed stack is cleaned up before starting again.
"$(dirname "$0")/stop.sh" >/dev/null 2>&1 || true
mkdir -p "$STATE_DIR/logs" "$STATE_DIR/pids" "$STATE_DIR/entra"

"$(dirname "$0")/install-tools.sh"

for port in "$DYNAMODB_PORT" "$DYNAMODB_PROXY_PORT" "$DYNAMODB_FAULTS_PORT" "$LAMBDA_PORT" "$ENTRA_PORT"; do
  port_open "$port" && die "port 127.0.0.1:$port is taken by another program; set WIF_LOCAL_*_PORT to move the stack"
done

log "building the workspace (debug)"
(cd "$REPO_ROOT" && cargo build --workspace --bins --quiet)

log "starting moto on $DYNAMODB_URL"
# Not moto_server itself: its threads break TransactWriteItems under concurrent requests (lost or resurrected
# writes) and every transaction deep-copies whole tables. The wrapper serialises requests and journals
# transactions instead (tests/testkit/moto_serialized.py).
setsid "${PYTHON:-python3}" "$REPO_ROOT/tests/testkit/moto_serialized.py" -H 127.0.0.1 -p "$DYNAMODB_PORT" \
  >"$STATE_DIR/logs/moto.log" 2>&1 &
echo $! >"$STATE_DIR/pids/moto"
wait_for_port "$DYNAMODB_PORT" 60 || die "moto did not start; see $STATE_DIR/logs/moto.log"

export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL_DYNAMODB="$DYNAMODB_URL" AWS_ENDPOINT_URL_KMS="$DYNAMODB_URL"
log "creating tables from infra/template.yaml"
TABLE_ENV="$("$BIN/local-stack" create-tables "$TABLE_PREFIX")"
log "creating the portal's signing key (moto KMS) and its certificate"
PORTAL_KEY="$("$BIN/local-stack" create-signing-key)"
"$BIN/wif-admin" --json portal-certificate --kms-key-id "$PORTAL_KEY" --out "$STATE_DIR/portal.cer" \
  >"$STATE_DIR/portal-certificate.json"
PORTAL_THUMBPRINT="$(sed -n 's/.*"x5t_s256" *: *"\([^"]*\)".*/\1/p' "$STATE_DIR/portal-certificate.json")"
[ -n "$PORTAL_THUMBPRINT" ] || die "no portal certificate: $(cat "$STATE_DIR/portal-certificate.json")"

log "starting the DynamoDB fault proxy on $DYNAMODB_PROXY_URL (control API $DYNAMODB_FAULTS_URL)"
setsid "$BIN/dynamodb-fault-proxy" --listen "127.0.0.1:$DYNAMODB_PROXY_PORT" --control "127.0.0.1:$DYNAMODB_FAULTS_PORT" \
  --upstream "$DYNAMODB_URL" >"$STATE_DIR/logs/dynamodb-fault-proxy.log" 2>&1 &
echo $! >"$STATE_DIR/pids/dynamodb-proxy"
wait_for_port "$DYNAMODB_PROXY_PORT" 30 || die "the fault proxy did not start; see $STATE_DIR/logs/dynamodb-fault-proxy.log"

cat >"$ENV_FILE" <<ENV
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
AWS_REGION=us-east-1
AWS_EC2_METADATA_DISABLED=true
AWS_ENDPOINT_URL_DYNAMODB=$DYNAMODB_PROXY_URL
AWS_ENDPOINT_URL_KMS=$DYNAMODB_URL
$TABLE_ENV
WIF_LOCAL_DEVELOPMENT=true
WIF_PUBLIC_TOKEN_URL=$TOKEN_URL
WIF_PUBLIC_SCIM_URL=$SCIM_URL
WIF_JWKS_REFETCH_COOLDOWN_SECONDS=${WIF_JWKS_REFETCH_COOLDOWN_SECONDS:-5}
WIF_RATE_LIMIT_CLIENT_PER_MINUTE=${WIF_RATE_LIMIT_CLIENT_PER_MINUTE:-120}
WIF_RATE_LIMIT_SOURCE_PER_MINUTE=${WIF_RATE_LIMIT_SOURCE_PER_MINUTE:-3000}
WIF_PUBLIC_PORTAL_URL=$PORTAL_URL
WIF_PORTAL_PUBLIC_URL=$PORTAL_URL
WIF_PORTAL_ENTRA_CLIENT_ID=$PORTAL_CLIENT_ID
WIF_PORTAL_CERTIFICATE_THUMBPRINT=$PORTAL_THUMBPRINT
WIF_PORTAL_SIGNING_KEY=$PORTAL_KEY
WIF_PORTAL_ENTRA_LOGIN_URL=$ENTRA_URL
WIF_PORTAL_TRUST_JWKS_V2_TEMPLATE="$ENTRA_URL/{tenantid}/discovery/v2.0/keys"
WIF_PORTAL_TRUST_JWKS_V1_TEMPLATE="$ENTRA_URL/{tenantid}/discovery/keys"
WIF_PORTAL_PRODUCT_NAME="Contoso SCIM provisioning"
RUST_LOG=${RUST_LOG:-info}
ENV

log "starting the Entra stand-in on $ENTRA_URL"
# Moto keeps nothing across restarts, so the stand-in's registration state must not either.
rm -rf "$STATE_DIR/entra"
setsid "$BIN/entra-sim" serve --port "$ENTRA_PORT" --control-port "$ENTRA_CONTROL_PORT" --state-dir "$STATE_DIR/entra" \
  --tenant-id "$DEMO_TENANT_GUID" --version v2 >"$STATE_DIR/logs/entra-sim.log" 2>&1 &
echo $! >"$STATE_DIR/pids/entra"
wait_for_port "$ENTRA_PORT" 30 || die "the Entra stand-in did not start; see $STATE_DIR/logs/entra-sim.log"
log "registering the portal's app (redirect URI, certificate) at the stand-in's OpenID provider"
"${PYTHON:-python3}" - "$ENTRA_CONTROL_URL" "$PORTAL_CLIENT_ID" "$PORTAL_URL/signin/callback" "$STATE_DIR/portal.cer" <<'PY' \
  || die "could not register the portal's app at the stand-in"
import base64, json, sys, urllib.request
control, client_id, redirect_uri, certificate = sys.argv[1:5]
body = json.dumps({"client_id": client_id, "redirect_uris": [redirect_uri],
                   "certificate": base64.b64encode(open(certificate, "rb").read()).decode()}).encode()
request = urllib.request.Request(control + "/_control/oidc/apps", data=body, headers={"Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=30).read()
PY

log "starting the functions under cargo lambda watch on 127.0.0.1:$LAMBDA_PORT"
# WIF_LOCAL_RELOAD=false keeps the running functions when sources change (cargo lambda watch otherwise kills every
# instance and recompiles on each edit, failing the requests in flight: unwanted while a long test suite runs).
reload_flag=()
[ "${WIF_LOCAL_RELOAD:-true}" = "false" ] && reload_flag=(--ignore-changes)
# exec, so the recorded PID is cargo lambda's own process group (stop.sh signals the group; a PID of the
# surrounding subshell would leave the watcher and its function instances running).
(cd "$REPO_ROOT" && exec setsid cargo lambda watch -A 127.0.0.1 -P "$LAMBDA_PORT" --env-file "$ENV_FILE" \
  --concurrency "$LAMBDA_CONCURRENCY" "${reload_flag[@]}" >"$STATE_DIR/logs/lambda.log" 2>&1) &
echo $! >"$STATE_DIR/pids/lambda"
wait_for_port "$LAMBDA_PORT" 120 || die "cargo lambda watch did not start; see $STATE_DIR/logs/lambda.log"

# Functions start lazily; warming them one at a time avoids parallel first requests blocking on cargo's lock.
warm() {
  local url="$1" deadline=$((SECONDS + 300))
  until curl -s -o /dev/null -m 60 "$url"; do
    [ $SECONDS -lt $deadline ] || die "no answer from $url; see $STATE_DIR/logs/lambda.log"
    sleep 0.5
  done
}
log "warming the functions"
warm "$LAMBDA_BASE/token/.well-known/oauth-authorization-server"
warm "$SCIM_URL/ServiceProviderConfig"
warm "$ADMIN_URL/warm-up"
warm "$PORTAL_URL/signin"
(cd "$REPO_ROOT" && cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" jwks-refresh \
  --data-ascii '{}' >"$STATE_DIR/logs/jwks-refresh-warm.log" 2>&1) || log "jwks-refresh warm-up failed (see logs)"

log "registering the demo customer through the admin API"
"$BIN/entra-sim" register --state-dir "$STATE_DIR/entra" --version v2 --admin-url "$ADMIN_URL" \
  --display-name "Demo customer (Entra stand-in)" --json >"$STATE_DIR/demo-registration.json"
sed -n 's/.*"client_id" *: *"\([^"]*\)".*/\1/p' "$STATE_DIR/demo-registration.json" | head -n1 >"$STATE_DIR/demo-client-id"
[ -s "$STATE_DIR/demo-client-id" ] || die "registration failed: $(cat "$STATE_DIR/demo-registration.json")"

log "linking the demo tenants to customer accounts for the portal"
DEMO_ACCOUNT="$("${PYTHON:-python3}" -c 'import json,sys; print(json.load(open(sys.argv[1]))["registration"]["tenant_id"])' \
  "$STATE_DIR/demo-registration.json")"
[ -n "$DEMO_ACCOUNT" ] || die "the demo registration has no tenant_id: $(cat "$STATE_DIR/demo-registration.json")"
"$BIN/wif-admin" --url "$LAMBDA_BASE/admin" tenant-links create --entra-tenant-id "$DEMO_TENANT_GUID" \
  --tenant-id "$DEMO_ACCOUNT" --display-name "Contoso (demo)" --non-admin-access read >/dev/null
"$BIN/wif-admin" --url "$LAMBDA_BASE/admin" tenant-links create --entra-tenant-id "$SECOND_TENANT_GUID" \
  --tenant-id fabrikam --display-name "Fabrikam (second demo tenant)" --non-admin-access none >/dev/null

log "running Entra's Test Connection against the demo registration"
"$BIN/entra-sim" test-connection --state-dir "$STATE_DIR/entra" --scim-url "$SCIM_URL"

if $run_demo; then
  log "provisioning the sample directory like Entra does"
  "$BIN/entra-sim" provision --state-dir "$STATE_DIR/entra" --scim-url "$SCIM_URL" \
    --file "$REPO_ROOT/tests/entra-sim/fixtures/directory.json"
  log "reading the provisioned directory back through the SCIM API"
  # The token travels in the environment, not on a command line.
  WIF_DEMO_TOKEN="$("$BIN/entra-sim" --state-dir "$STATE_DIR/entra" token --token-url "$TOKEN_URL" \
      --client-id "$(cat "$STATE_DIR/demo-client-id")" 2>/dev/null)" \
    "${PYTHON:-python3}" - "$SCIM_URL" <<'PY' || log "could not read the directory back (see $STATE_DIR/logs/lambda.log)"
import json, os, sys, urllib.parse, urllib.request

base, token = sys.argv[1], os.environ["WIF_DEMO_TOKEN"]

def get(path):
    request = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)

users = get("/Users?count=0")["totalResults"]
active = get("/Users?count=0&filter=" + urllib.parse.quote("active eq true"))["totalResults"]
groups = get("/Groups?count=100&excludedAttributes=members").get("Resources", [])
print("\nProvisioned directory of the demo customer (read back through the SCIM API):")
print(f"  users   {users:>4}  ({active} active, {users - active} disabled)")
print(f"  groups  {len(groups):>4}")
for group in sorted(groups, key=lambda g: g["displayName"]):
    members = len(get(f"/Groups/{group['id']}").get("members", []))
    print(f"    {group['displayName']:<26} {members:>4} members")
PY
fi

print_urls

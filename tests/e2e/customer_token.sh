# Sourced by the third-party conformance runs (scim2-cli, newman): registers a customer of their own (the demo Entra
# workload registered again with an audience of its own, so a new, empty ISV tenant) and prints an access token for it, obtained the way Entra
# gets one (an Entra-shaped client assertion from the stand-in, exchanged at our token endpoint).
# Needs infra/local/common.sh sourced and the local stack running.

BIN="$CARGO_TARGET_DIR/debug"
REGISTRATION="$STATE_DIR/demo-registration.json"

# customer_token "<display name>"
customer_token() {
  local display_name="$1" request answer client_id audience
  port_open "$LAMBDA_PORT" || die "the local stack is not running on 127.0.0.1:$LAMBDA_PORT; start it with infra/local/start.sh"
  [ -f "$REGISTRATION" ] || die "no demo registration at $REGISTRATION; start the stack with infra/local/start.sh"
  [ -x "$BIN/entra-sim" ] || die "$BIN/entra-sim is missing; build the workspace first"
  request="$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d.get("registration", d)
# The first federated credential (a registration view lists them; older files held the four fields at the top).
c = (r.get("federated_credentials") or [r])[0]
body = {k: c[k] for k in ("issuer", "jwks_uri", "subject", "expected_tid") if c.get(k)}
audiences = c.get("audiences") or [c.get("audience", "api://wif-conformance")]
# A trust is registered once (issuer + subject + audience), so each run gets an audience of its own, in the shape
# of Entra'"'"'s first-party mode (api://<appId>/<suffix>); the assertion below is minted for it.
audience = audiences[0] + "/" + sys.argv[3]
print(json.dumps(body | {"audiences": [audience], "display_name": sys.argv[2]}))
print(audience, file=sys.stderr)' "$REGISTRATION" "$display_name" "conformance-$(date +%s%N)" 2>"$STATE_DIR/customer-audience")"
  audience="$(cat "$STATE_DIR/customer-audience")"
  answer="$(curl -sS -m 120 -X POST -H 'Content-Type: application/json' --data "$request" "$ADMIN_URL")" \
    || die "the admin API at $ADMIN_URL did not answer"
  client_id="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$answer" 2>/dev/null)" \
    || die "registration for the $display_name run failed: $answer"
  "$BIN/entra-sim" --state-dir "$STATE_DIR/entra" token --token-url "$TOKEN_URL" --client-id "$client_id" \
    --claim "aud=$audience" 2>/dev/null \
    || die "could not get an access token from $TOKEN_URL"
}

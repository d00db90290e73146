#!/usr/bin/env bash
# Microsoft's SCIM Postman collection (tests/newman/PostmanCollection.json, see README.md here) run with newman
# against the running local stack (infra/local/start.sh), as a customer of its own with a real access token from
# our token endpoint. The collection's "Get Token" folder calls the reference implementation's test-only /Token
# endpoint, which is not SCIM: it is left out and newman gets our token through its environment (a 0600 file, never
# the command line). Every failing assertion must be listed in expected-failures.txt (each one a deliberate
# deviation, README.md): a failure not listed, or a listed one that passes, fails the run.
# WIF_POSTMAN_COLLECTION=<path> runs another copy of the collection.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/local/common.sh
source tests/e2e/customer_token.sh

HERE=tests/newman
collection="${WIF_POSTMAN_COLLECTION:-$HERE/PostmanCollection.json}"
NEWMAN="$(command -v newman || echo "$STATE_DIR/npm/node_modules/.bin/newman")"
[ -x "$NEWMAN" ] || die "newman is missing; run infra/local/install-tools.sh --test"
[ -f "$collection" ] || die "no Postman collection at $collection"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
token="$(customer_token "newman (Postman collection)")"
python3 - "$collection" "$work" "$LAMBDA_PORT" "$token" <<'PY'
import json, os, sys
collection, work, port, token = sys.argv[1:]
doc = json.load(open(collection))
doc["item"] = [item for item in doc["item"] if item.get("name") != "Get Token"]
json.dump(doc, open(os.path.join(work, "collection.json"), "w"))
values = {"Protocol": "http", "Server": "127.0.0.1", "Port": f":{port}", "Api": "lambda-url/scim/scim/v2",
          "token": token}
env_path = os.path.join(work, "environment.json")
fd = os.open(env_path, os.O_WRONLY | os.O_CREAT, 0o600)
with os.fdopen(fd, "w") as env:
    json.dump({"name": "local stack", "values": [{"key": k, "value": v, "enabled": True} for k, v in values.items()]}, env)
PY

log "newman run of $collection against $SCIM_URL"
"$NEWMAN" run "$work/collection.json" -e "$work/environment.json" --reporters cli,json \
  --reporter-json-export "$work/report.json" --timeout-request 60000 >"$work/cli.txt" 2>&1 || true
python3 - "$work/report.json" "$HERE/expected-failures.txt" <<'PY' || { cat "$work/cli.txt"; exit 1; }
import json, sys
report, expected_path = sys.argv[1:]
run = json.load(open(report))["run"]
failed = [f"{f['source']['name']} :: {f['error'].get('test') or f['error'].get('message')}" for f in run["failures"]]
expected = [line.strip() for line in open(expected_path) if line.strip() and not line.startswith("#")]
stats = run["stats"]["assertions"]
total, failures = stats["total"], stats["failed"]
print(f"newman: {total - failures}/{total} assertions passed, {failures} failed (expected {len(expected)})")
for failure in failed:
    print(f"  failed: {failure}{'' if failure in expected else '   <-- NOT EXPECTED'}")
unexpected = sorted(set(failed) - set(expected))
now_passing = sorted(set(expected) - set(failed))
for name in now_passing:
    print(f"  expected to fail but passed: {name} (remove it from expected-failures.txt)")
requests_failed = run["stats"]["requests"]["failed"]
if requests_failed:
    print(f"  {requests_failed} requests got no answer")
sys.exit(1 if unexpected or now_passing or len(failed) != len(expected) or failures != len(expected)
         or requests_failed else 0)
PY

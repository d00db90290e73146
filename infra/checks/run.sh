#!/usr/bin/env bash
# Offline checks of infra/template.yaml, the deployable description of the product:
#   1. cfn-lint on the SAM template,
#   2. the SAM transform (aws-sam-translator, offline, fake account/region) to plain CloudFormation,
#   3. cfn-lint on that output (it sees inside the AWS::Serverless::* resources, as CloudFormation will),
#   4. checkov on both; every rule it skips is justified inline in template.yaml (Metadata: checkov: skip).
# The Rust consistency tests (crate infra-checks: tables, environment variables, IAM grants against the code) run
# with `cargo test --workspace`. Installs nothing itself: missing tools come from infra/local/install-tools.sh --test.
# Exits non-zero on the first failing check.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY="${PYTHON:-python3}"
TEMPLATE=infra/template.yaml
REGIONS=(us-east-1 eu-west-1)

tools_present() {
  command -v cfn-lint >/dev/null 2>&1 && command -v checkov >/dev/null 2>&1 \
    && "$PY" -c 'import samtranslator' >/dev/null 2>&1
}
if ! tools_present; then
  echo "infra checks: installing missing tools (infra/local/install-tools.sh --test)"
  infra/local/install-tools.sh --test
  tools_present || { echo "infra checks: cfn-lint, checkov or aws-sam-translator still missing" >&2; exit 1; }
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Nothing here may reach AWS: no credentials are needed and none are looked up.
export AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1

step() { printf -- '--> %s\n' "$*"; }

step "cfn-lint $TEMPLATE (regions ${REGIONS[*]})"
cfn-lint --regions "${REGIONS[@]}" -- "$TEMPLATE"

for region in "${REGIONS[@]}"; do
  step "SAM transform to CloudFormation ($region)"
  "$PY" infra/checks/sam_transform.py "$TEMPLATE" "$work/template-$region.json" --region "$region"
  step "cfn-lint on the transformed template ($region)"
  cfn-lint --regions "$region" -- "$work/template-$region.json"
done

step "checkov (SAM template and transformed template)"
checkov --skip-download --framework cloudformation --compact --quiet \
  -f "$TEMPLATE" -f "$work/template-${REGIONS[0]}.json"

echo "infra checks passed"

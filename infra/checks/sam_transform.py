#!/usr/bin/env python3
"""Transforms infra/template.yaml (AWS SAM) into plain CloudFormation JSON, offline.

cfn-lint validates AWS::Serverless::* resources only loosely; linting the transformed template catches errors inside
them (a bogus FunctionUrlConfig.AuthType, a wrong event property) the way CloudFormation would at deploy time.

The transform runs without AWS credentials or network: account, region and partition are fixed fake values, and
each local CodeUri is replaced by an S3 URI, exactly as `sam package` would do after uploading the build.

usage: sam_transform.py <template.yaml> <output.json> [--region REGION]
"""

import argparse
import json
import os
import sys

# boto3 (imported by samtranslator) must never look for credentials or a region on the network.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

FAKE_ACCOUNT = "123456789012"
PARTITIONS = {"cn-": "aws-cn", "us-gov-": "aws-us-gov"}


class NoManagedPolicies(ManagedPolicyLoader):
    """The template names no AWS managed policies; answering from IAM would need credentials."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict:
        return {}


def package_code_uris(template: dict) -> None:
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        code_uri = resource.get("Properties", {}).get("CodeUri")
        if isinstance(code_uri, str) and not code_uri.startswith("s3://"):
            resource["Properties"]["CodeUri"] = f"s3://offline-check-artifacts/{logical_id}.zip"


def carry_checkov_skips(sam_template: dict, output: dict) -> None:
    """Copies a function's inline checkov skips onto the `<Function>Url` resource SAM generates from it.

    The justification is written once, on the function in template.yaml; the generated resource has no Metadata of
    its own, so without this a rule skipped (and explained) on the function would fail on its URL.
    """
    resources = output.get("Resources", {})
    for logical_id, resource in sam_template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        skips = resource.get("Metadata", {}).get("checkov")
        generated = resources.get(f"{logical_id}Url")
        if skips and generated and generated.get("Type") == "AWS::Lambda::Url":
            generated.setdefault("Metadata", {})["checkov"] = skips


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template")
    parser.add_argument("output")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()

    with open(args.template, encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    package_code_uris(template)
    sam_template = json.loads(json.dumps(template))
    partition = next((p for prefix, p in PARTITIONS.items() if args.region.startswith(prefix)), "aws")
    parameters = {"AWS::AccountId": FAKE_ACCOUNT, "AWS::Region": args.region, "AWS::Partition": partition}
    try:
        output = transform(template, parameters, NoManagedPolicies(), passthrough_metadata=True)
    except InvalidDocumentException as err:
        for cause in err.causes:
            print(f"SAM transform: {cause.message}", file=sys.stderr)
        return 1
    carry_checkov_skips(sam_template, output)
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(output, handle, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

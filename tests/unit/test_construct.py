"""What synth produces: one provider, least-privilege IAM, the documented schema, and
errors at synth that name the prop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets

from cdk_cloudfront_invalidation import CloudFrontInvalidation
from cdk_cloudfront_invalidation._asset import handler_asset_dir
from cloudfront_purge.model import rules

ROOT = Path(__file__).resolve().parents[2]
SITE = str(ROOT / "site")


def make_stack() -> tuple[cdk.Stack, cloudfront.Distribution, cloudfront.Distribution]:
    stack = cdk.Stack(cdk.App(), "Test")
    bucket = s3.Bucket(stack, "B")
    d1 = cloudfront.Distribution(stack, "D1", default_behavior=cloudfront.BehaviorOptions(
        origin=origins.S3BucketOrigin.with_origin_access_control(bucket)))
    d2 = cloudfront.Distribution(stack, "D2", default_behavior=cloudfront.BehaviorOptions(
        origin=origins.S3BucketOrigin.with_origin_access_control(bucket)))
    return stack, d1, d2


@pytest.fixture(scope="module")
def synthesized() -> dict[str, Any]:
    stack, d1, d2 = make_stack()
    for i in range(5):
        CloudFrontInvalidation(stack, f"Purge{i}", distribution=d1, source_hash=f"hash{i}")
    CloudFrontInvalidation(stack, "Both", distributions=[d1, d2], paths=["/index.html", "/img/*"],
                           source_directories=[SITE], timeout=cdk.Duration.minutes(10),
                           wait_for_completion=False, invalidate_on_create=False)
    return {"template": assertions.Template.from_stack(stack), "stack": stack}


def resources(template: assertions.Template, type_: str) -> dict[str, Any]:
    found: dict[str, Any] = template.find_resources(type_)
    return found


def test_one_provider_function_for_many_instances(synthesized: dict[str, Any]) -> None:
    template = synthesized["template"]
    functions = resources(template, "AWS::Lambda::Function")
    providers = {k: v for k, v in functions.items() if v["Properties"].get("Handler") == "cloudfront_purge.function.entry.handler"}
    assert len(providers) == 1
    (provider_id, provider), = providers.items()
    props = provider["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["Timeout"] == 900
    customs = resources(template, "Custom::CloudFrontInvalidation")
    assert len(customs) == 6
    tokens = {json.dumps(c["Properties"]["ServiceToken"]) for c in customs.values()}
    assert tokens == {json.dumps({"Fn::GetAtt": [provider_id, "Arn"]})}
    # Log retention is set on the provider's log group and its on-failure function's.
    groups = resources(template, "AWS::Logs::LogGroup")
    assert [g["Properties"]["RetentionInDays"] for g in groups.values()] == [30, 30]


def test_iam_names_the_distribution_arns_and_no_wildcard(synthesized: dict[str, Any]) -> None:
    template = synthesized["template"]
    statements = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        statements += policy["Properties"]["PolicyDocument"]["Statement"]
    cf = [s for s in statements if any(str(a).startswith("cloudfront:") for a in _list(s["Action"]))]
    actions = {a for s in cf for a in _list(s["Action"])}
    assert actions == {"cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"}
    text = json.dumps(cf)
    assert '"*"' not in text
    assert ":distribution/" in text and '"Ref": "D1' in text and '"Ref": "D2' in text
    invoke = [s for s in statements if "lambda:InvokeFunction" in _list(s["Action"])]
    # Itself (the hand-off) and its on-failure destination, each by its exact ARN.
    assert len(invoke) == 2 and all(set(s["Resource"]) == {"Fn::GetAtt"} for s in invoke)
    assert not any(str(a).startswith(("events:", "cloudfront:*")) for s in statements for a in _list(s["Action"]))


def test_properties_follow_the_documented_schema(synthesized: dict[str, Any]) -> None:
    customs = resources(synthesized["template"], "Custom::CloudFrontInvalidation")
    both = next(v for k, v in customs.items() if k.startswith("Both"))
    props = both["Properties"]
    assert set(props) - {"ServiceToken", "ServiceTimeout"} == (
        rules.KNOWN_PROPS
        - {rules.PROP_DISTRIBUTION_ID, rules.PROP_DISTRIBUTION_TENANT_IDS}
        - rules.CHANGED_ONLY_PROPS
        - rules.PRUNE_PROPS
        # Sent only by a rollback-only purge (SafeSiteDeployment's step 0).
        - {rules.PROP_ONLY_IN_ROLLBACK}
    )
    assert props["Paths"] == ["/index.html", "/img/*"]
    assert props["WaitForCompletion"] == "false" and props["InvalidateOnCreate"] == "false"
    assert props["TimeoutSeconds"] == "600"
    assert len(props["DistributionIds"]) == 2
    # The content identity is CDK's own fingerprint of the directory, as an asset would have.
    assert props["SourceHash"] == cdk.FileSystem.fingerprint(SITE)
    # CloudFormation gives up 2 minutes after the construct's own timeout.
    assert str(props["ServiceTimeout"]) == "720"
    assert all(str(v["Properties"]["ServiceTimeout"]) == "1920" for k, v in customs.items() if k.startswith("Purge"))


def test_attributes_are_getatt_tokens() -> None:
    stack, d1, _ = make_stack()
    purge = CloudFrontInvalidation(stack, "P", distribution=d1, source_hash="h")
    resolved = stack.resolve(purge.invalidation_id)
    assert resolved["Fn::GetAtt"][1] == "InvalidationId"
    assert stack.resolve(purge.caller_reference)["Fn::GetAtt"][1] == "CallerReference"
    assert "Fn::Split" in json.dumps(stack.resolve(purge.invalidation_ids))


def test_asset_hash_of_directories_and_assets_changes_with_content(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("A")
    stack, d1, _ = make_stack()
    first = CloudFrontInvalidation(stack, "P1", distribution=d1, source_directories=[str(tmp_path)]).source_hash
    (tmp_path / "index.html").write_text("B")
    second = CloudFrontInvalidation(stack, "P2", distribution=d1, source_directories=[str(tmp_path)]).source_hash
    asset = s3_assets.Asset(stack, "Asset", path=str(tmp_path))
    from_asset = CloudFrontInvalidation(stack, "P3", distribution=d1, assets=[asset]).source_hash
    assert first != second
    assert from_asset == asset.asset_hash


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source_hash": "h"}, "distribution \\(or distributions, or distribution_tenants\\) is required"),
        ({"source_hash": "h", "distributions": []}, "distributions must name at least one"),
        ({"source_hash": "h", "distribution": "D1", "distributions": ["D2"]}, "give distribution or distributions, not both"),
        ({"source_hash": "h", "distribution": "D1", "paths": []}, "paths must not be empty"),
        ({"source_hash": "h", "distribution": "D1", "paths": ["index.html"]}, "paths: path 'index.html' must start with '/'"),
        ({"source_hash": "h", "distribution": "D1", "paths": ["/a/*/b"]}, "'\\*' only as its last character"),
        ({"source_hash": "h", "distribution": "D1", "paths": ["/" + "x" * 4001]}, "at most 4000"),
        ({"source_hash": "h", "distribution": "D1", "timeout": cdk.Duration.minutes(59)}, "timeout is 3540 seconds"),
        ({"distribution": "D1"}, "give source_hash, source_directories or assets"),
        ({"distribution": "D1", "source_hash": ""}, "source_hash is required"),
        ({"distribution": "D1", "source_directories": ["/no/such/dir"]}, "source_directories: '/no/such/dir' is not a directory"),
    ],
)
def test_bad_props_fail_at_synth_naming_the_prop(kwargs: dict[str, Any], message: str) -> None:
    stack, d1, d2 = make_stack()
    by_name = {"D1": d1, "D2": d2}
    if "distribution" in kwargs:
        kwargs["distribution"] = by_name[kwargs["distribution"]]
    if "distributions" in kwargs:
        kwargs["distributions"] = [by_name[d] for d in kwargs["distributions"]]
    with pytest.raises(ValueError, match=message):
        CloudFrontInvalidation(stack, "Bad", **kwargs)
    # Nothing was added to the stack: validation runs before any child construct.
    assert stack.node.try_find_child("Bad") is None


def test_handler_asset_holds_handler_and_crhelper_and_runs_alone(tmp_path: Path) -> None:
    """As in Lambda: only the asset and boto3 importable; the handler imports and answers."""
    asset = Path(handler_asset_dir())
    names = sorted(str(p.relative_to(asset)) for p in asset.rglob("*.py"))
    assert "cloudfront_purge/resource/handler.py" in names and "crhelper/resource_helper.py" in names
    assert "cloudfront_purge/cli/command.py" not in names
    # A runtime dir with boto3 and its dependencies only, like the Lambda Python runtime.
    import boto3
    site = Path(boto3.__file__).parents[1]
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"):
        if (site / name).exists():
            (runtime / name).symlink_to(site / name)
    probe = (
        "import sys, json; sys.path[:0] = [sys.argv[1], sys.argv[2]];"
        "import importlib.util as u;"
        "assert u.find_spec('moto') is None and u.find_spec('aws_cdk') is None;"
        "import cloudfront_purge.resource.handler as h;"
        "ev = {'RequestType': 'Delete', 'ResponseURL': 'https://127.0.0.1:1/x', 'StackId': 'arn:aws:cloudformation:us-east-1:1:stack/s/1',"
        " 'RequestId': 'r', 'LogicalResourceId': 'L', 'PhysicalResourceId': 'P-1', 'ResourceProperties': {}};"
        "sent = [];"
        "h.deliver = lambda url, body, *_: sent.append((body['Status'], body['PhysicalResourceId'], body['Reason'])) or True;"
        "ctx = type('C', (), {'aws_request_id': 'a1', 'get_remaining_time_in_millis': lambda self: 60000})();"
        "h.handler(ev, ctx); print(json.dumps(sent))"
    )
    env = {"PATH": os.environ["PATH"], "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    out = subprocess.run([sys.executable, "-I", "-S", "-c", probe, str(asset), str(runtime)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [["SUCCESS", "P-1", ""]]


def test_two_synths_give_the_same_provider_asset_hash(tmp_path: Path) -> None:
    script = (
        "import aws_cdk as cdk; from aws_cdk import aws_cloudfront as cf;"
        "from cdk_cloudfront_invalidation import CloudFrontInvalidation;"
        "app = cdk.App(); s = cdk.Stack(app, 'S');"
        "d = cf.Distribution.from_distribution_attributes(s, 'D', distribution_id='E1', domain_name='x.cloudfront.net');"
        "CloudFrontInvalidation(s, 'P', distribution=d, source_hash='h'); app.synth()"
    )
    keys = []
    for n in range(2):
        out = tmp_path / f"out{n}"
        subprocess.run([sys.executable, "-c", script], check=True, env={**os.environ, "CDK_OUTDIR": str(out)}, timeout=120)
        template = json.loads((out / "S.template.json").read_text())
        fn = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
        keys.append(fn["Properties"]["Code"]["S3Key"])
    assert keys[0] == keys[1]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_token_paths_pass_synth_and_a_token_source_hash_stays_a_token() -> None:
    """Deploy-time values (parameters) are checked by the handler; a token mixed with a
    directory hash must stay in the property, or a changed value would never purge."""
    stack, d1, _ = make_stack()
    commit = cdk.CfnParameter(stack, "Commit", type="String").value_as_string
    prefix = cdk.CfnParameter(stack, "Prefix", type="String").value_as_string
    CloudFrontInvalidation(stack, "P", distribution=d1, source_hash=commit, source_directories=[SITE],
                           paths=[cdk.Fn.join("", ["/", prefix, "/*"]), "/index.html"])
    props = next(iter(resources(assertions.Template.from_stack(stack), "Custom::CloudFrontInvalidation").values()))["Properties"]
    assert "Commit" in json.dumps(props["SourceHash"])
    assert "Prefix" in json.dumps(props["Paths"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"wait_for_completion": "false"}, "wait_for_completion must be True or False"),
        ({"invalidate_on_create": "false"}, "invalidate_on_create must be True or False"),
        ({"timeout": 600}, "timeout must be a Duration"),
        ({"timeout": cdk.Duration.millis(90500)}, "timeout must be a whole number of seconds, got 90.5 s"),
    ],
)
def test_prop_types_fail_at_synth_naming_the_prop(kwargs: dict[str, Any], message: str) -> None:
    stack, d1, _ = make_stack()
    with pytest.raises(ValueError, match=message):
        CloudFrontInvalidation(stack, "Bad", distribution=d1, source_hash="h", **kwargs)


def test_a_list_token_of_paths_is_left_to_deploy_time() -> None:
    stack, d1, _ = make_stack()
    paths = cdk.CfnParameter(stack, "Paths", type="CommaDelimitedList").value_as_list
    CloudFrontInvalidation(stack, "P", distribution=d1, source_hash="h", paths=paths)
    props = next(iter(resources(assertions.Template.from_stack(stack), "Custom::CloudFrontInvalidation").values()))["Properties"]
    assert props["Paths"] == {"Ref": "Paths"}


TENANT = "dt_2yq2uFYMVyIkVWU6FAZ4lw55JXz"


def _cloudfront_statements(stack: cdk.Stack) -> list[dict[str, Any]]:
    template = assertions.Template.from_stack(stack)
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return [s for s in statements if any(str(a).startswith("cloudfront:") for a in _list(s["Action"]))]


def test_tenants_by_id_and_resource_get_the_tenant_actions_on_their_arns_only() -> None:
    stack, d1, _ = make_stack()
    made = cloudfront.CfnDistributionTenant(stack, "T", distribution_id="EMULTI", domains=["a.example.com"], name="a")
    purge = CloudFrontInvalidation(stack, "P", distribution_tenants=[TENANT, made], paths=["#release"], source_hash="h")
    CloudFrontInvalidation(stack, "Q", distribution=d1, source_hash="h")
    props = stack.resolve(purge.resource.node.default_child._cfn_properties)  # type: ignore[union-attr]
    assert props["DistributionIds"] == []
    assert props["DistributionTenantIds"] == [TENANT, {"Fn::GetAtt": ["T", "Id"]}]
    statements = _cloudfront_statements(stack)
    tenant_statements = [s for s in statements if "cloudfront:CreateInvalidationForDistributionTenant" in _list(s["Action"])]
    assert len(tenant_statements) == 1
    (tenant,) = tenant_statements
    assert set(_list(tenant["Action"])) == {
        "cloudfront:CreateInvalidationForDistributionTenant",
        "cloudfront:GetInvalidationForDistributionTenant",
        "cloudfront:ListInvalidationsForDistributionTenant",
    }
    text = json.dumps(tenant["Resource"])
    assert f":distribution-tenant/{TENANT}" in text and '"Fn::GetAtt": ["T", "Id"]' in text
    assert '"*"' not in json.dumps(statements)
    # The distribution statements still name only distributions.
    plain = [s for s in statements if s is not tenant]
    assert all("distribution-tenant" not in json.dumps(s["Resource"]) for s in plain)


def test_tenants_beside_a_distribution_are_both_sent() -> None:
    stack, d1, _ = make_stack()
    purge = CloudFrontInvalidation(stack, "P", distribution=d1, distribution_tenants=[TENANT], source_hash="h")
    props = stack.resolve(purge.resource.node.default_child._cfn_properties)  # type: ignore[union-attr]
    assert len(props["DistributionIds"]) == 1 and "Ref" in props["DistributionIds"][0]
    assert props["DistributionTenantIds"] == [TENANT]
    # What the construct sends is what the handler parses (the Ref resolved to an id).
    spec = rules.parse_properties({**props, "ServiceToken": "arn:x", "DistributionIds": ["E1"]})
    assert (spec.distribution_ids, spec.distribution_tenant_ids) == (("E1",), (TENANT,))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"distribution_tenants": []}, "distribution_tenants must name at least one tenant"),
        ({"distribution_tenants": "dt_abc"}, "distribution_tenants must be a list"),
        ({"distribution_tenants": ["E2QWRUHAPOMQZL"]}, "distribution_tenants: 'E2QWRUHAPOMQZL' is not a CloudFront distribution tenant id"),
        ({"distribution_tenants": [42]}, "each item must be a tenant id"),
        ({"distribution_tenants": [f"dt_{i}" for i in range(21)]}, "names 21 distribution tenants; at most 20"),
        ({"distribution_tenants": [TENANT], "paths": ["#a b"]}, "paths: tag item '#a b' contains ' '"),
        ({"distribution_tenants": [TENANT], "paths": ["#sale*"]}, "paths: tag item '#sale\\*' may not contain"),
        ({"distribution_tenants": [TENANT], "paths": ["#a,b"]}, "paths: tag item '#a,b' may not contain a comma"),
        ({"distribution_tenants": [TENANT], "paths": ["#" + "t" * 257]}, "257-character tag"),
        ({"distribution_tenants": [TENANT], "paths": ["#"]}, "must name a tag after '#'"),
    ],
)
def test_bad_tenants_and_tags_fail_at_synth_naming_the_prop(kwargs: dict[str, Any], message: str) -> None:
    stack, _, _ = make_stack()
    with pytest.raises(ValueError, match=message):
        CloudFrontInvalidation(stack, "Bad", source_hash="h", **kwargs)
    assert stack.node.try_find_child("Bad") is None


def test_tag_items_pass_synth_unencoded() -> None:
    stack, d1, _ = make_stack()
    purge = CloudFrontInvalidation(stack, "P", distribution=d1, paths=["#product:tv", "/index.html"], source_hash="h")
    props = stack.resolve(purge.resource.node.default_child._cfn_properties)  # type: ignore[union-attr]
    assert props["Paths"] == ["#product:tv", "/index.html"]

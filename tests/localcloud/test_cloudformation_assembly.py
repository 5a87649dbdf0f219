"""Reading a synthesized cloud assembly: custom resources, their providers, intrinsics."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from localcloud.cloudformation.assembly import (
    AssemblyError,
    UnresolvedReferenceError,
    cfn_stringify,
    find_custom_resources,
    find_event_invoke_configs,
    load_assembly,
    resolve,
)
from tests.support.assembly import cr, function_resource, write_assembly

HANDLER_SOURCE = "def handler(event, context):\n    return 'purged'\n"


@pytest.fixture(scope="module")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthesize a tiny app once: a provider stack and a stack importing its function."""
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_s3 as s3

    root = tmp_path_factory.mktemp("app")
    asset = root / "handler"
    asset.mkdir()
    (asset / "index.py").write_text(HANDLER_SOURCE)
    out = root / "cdk.out"

    app = cdk.App(outdir=str(out))
    provider = cdk.Stack(app, "Provider")
    fn = lambda_.Function(
        provider,
        "PurgeFn",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_asset(str(asset)),
        timeout=cdk.Duration.seconds(42),
        memory_size=256,
        environment={"LOG_LEVEL": "INFO", "REGION_HINT": provider.region},
    )
    bucket = s3.Bucket(provider, "Site")
    cdk.CustomResource(
        provider,
        "Purge",
        resource_type="Custom::CloudFrontInvalidation",
        service_token=fn.function_arn,
        service_timeout=cdk.Duration.minutes(5),
        properties={
            "DistributionId": bucket.bucket_name,
            "Paths": ["/*", f"/{bucket.bucket_name}/index.html"],
            "First": cdk.Fn.select(0, cdk.Fn.split(":", bucket.bucket_arn)),
            "Wait": True,
            "Batch": 3000,
        },
    )
    cdk.CustomResource(
        provider, "Other", resource_type="Custom::Other", service_token=fn.function_arn
    )
    consumer = cdk.Stack(app, "Consumer")
    cdk.CustomResource(
        consumer,
        "RemotePurge",
        resource_type="Custom::CloudFrontInvalidation",
        service_token=fn.function_arn,
        properties={"DistributionId": "E123"},
    )
    app.synth()
    return out


def by_name(stacks: list[Any], name: str) -> Any:
    return next(s for s in stacks if s.name == name)


def test_load_assembly_finds_every_stack(cdk_out: Path) -> None:
    stacks = load_assembly(cdk_out)
    assert sorted(s.name for s in stacks) == ["Consumer", "Provider"]
    provider = by_name(stacks, "Provider")
    assert provider.template_file == cdk_out / "Provider.template.json"
    assert "Purge" in provider.resources


def test_custom_resource_and_its_provider_function(cdk_out: Path) -> None:
    provider = by_name(load_assembly(cdk_out), "Provider")
    specs = find_custom_resources(provider)
    assert [s.logical_id for s in specs] == ["Purge"]
    spec = specs[0]
    assert spec.service_timeout == 300
    assert spec.properties["ServiceToken"] == {"Fn::GetAtt": [spec.provider_logical_id, "Arn"]}
    assert spec.properties["DistributionId"] == {"Ref": spec.properties["DistributionId"]["Ref"]}
    fn = spec.provider
    assert fn.handler == "index.handler"
    assert fn.timeout_seconds == 42
    assert fn.memory_mb == 256
    assert fn.runtime == "python3.13"
    assert fn.environment == {"LOG_LEVEL": "INFO", "REGION_HINT": "us-east-1"}
    # The code directory is the staged asset inside cdk.out.
    assert fn.asset_dir.parent == cdk_out
    assert fn.asset_dir.name.startswith("asset.")
    assert (fn.asset_dir / "index.py").read_text() == HANDLER_SOURCE
    assert spec.deletion_policy == "Delete"


def test_all_custom_resources_when_no_type_is_given(cdk_out: Path) -> None:
    provider = by_name(load_assembly(cdk_out), "Provider")
    assert sorted(s.logical_id for s in find_custom_resources(provider, None)) == ["Other", "Purge"]
    assert find_custom_resources(provider, "Custom::Nothing") == []


def test_provider_shared_through_an_export_is_found(cdk_out: Path) -> None:
    stacks = load_assembly(cdk_out)
    consumer = by_name(stacks, "Consumer")
    (spec,) = find_custom_resources(consumer)
    assert "Fn::ImportValue" in spec.properties["ServiceToken"]
    assert spec.provider_stack.name == "Provider"
    assert spec.stack.name == "Consumer"
    assert spec.service_timeout is None
    local = find_custom_resources(by_name(stacks, "Provider"))[0]
    assert spec.provider_logical_id == local.provider_logical_id
    assert spec.provider.asset_dir == local.provider.asset_dir


def test_properties_resolve_against_local_substitutes(cdk_out: Path) -> None:
    spec = find_custom_resources(by_name(load_assembly(cdk_out), "Provider"))[0]
    bucket_id = spec.properties["DistributionId"]["Ref"]
    refs = {bucket_id: "E2ABCDEF", f"{bucket_id}.Arn": "arn:aws:s3:::my-site"}
    props = spec.resolve_properties(refs, service_token="arn:aws:lambda:us-east-1:1:function:x")
    assert props == {
        "ServiceToken": "arn:aws:lambda:us-east-1:1:function:x",
        "ServiceTimeout": "300",
        "DistributionId": "E2ABCDEF",
        "Paths": ["/*", "/E2ABCDEF/index.html"],
        "First": "arn",
        "Wait": True,
        "Batch": 3000,
    }
    with pytest.raises(UnresolvedReferenceError, match=f"Ref {bucket_id}"):
        spec.resolve_properties({}, service_token="arn:x")


def test_resolve_intrinsics() -> None:
    refs = {"Dist": "E1", "Dist.DomainName": "d1.cloudfront.net", "Env": "prod"}
    assert resolve({"Ref": "Dist"}, refs) == "E1"
    assert resolve({"Fn::GetAtt": ["Dist", "DomainName"]}, refs) == "d1.cloudfront.net"
    assert resolve({"Fn::GetAtt": "Dist.DomainName"}, refs) == "d1.cloudfront.net"
    assert resolve({"Fn::Join": ["-", ["a", {"Ref": "Env"}, 3]]}, refs) == "a-prod-3"
    assert resolve({"Fn::Select": ["1", {"Fn::Split": [",", "x,y,z"]}]}, refs) == "y"
    assert (
        resolve(
            {"Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Dist}"},
            refs,
        )
        == "arn:aws:cloudfront::123456789012:distribution/E1"
    )
    assert (
        resolve({"Fn::Sub": "${Dist.DomainName}/${!Literal}"}, refs)
        == "d1.cloudfront.net/${Literal}"
    )
    assert resolve({"Fn::Sub": ["${A}-${Env}", {"A": {"Ref": "Dist"}}]}, refs) == "E1-prod"
    assert resolve({"Ref": "AWS::Region"}, {"AWS::Region": "eu-west-1"}) == "eu-west-1"
    assert resolve({"Fn::Base64": "hi"}, {}) == "aGk="
    assert (
        resolve({"Fn::ImportValue": "Shared-Dist"}, {"Fn::ImportValue:Shared-Dist": "E9"}) == "E9"
    )
    nested = {"A": [{"Ref": "Dist"}, {"Ref": "AWS::NoValue"}], "B": {"Ref": "AWS::NoValue"}, "C": 1}
    assert resolve(nested, refs) == {"A": ["E1"], "C": 1}


@pytest.mark.parametrize(
    ("expr", "named"),
    [
        ({"Ref": "Missing"}, "Ref Missing"),
        ({"Fn::GetAtt": ["Dist", "Arn"]}, "Fn::GetAtt Dist.Arn"),
        ({"Fn::Sub": "x-${Nope}"}, "Ref Nope"),
        ({"Fn::Join": ["", [{"Ref": "Deep"}]]}, "Ref Deep"),
        ({"Fn::ImportValue": "Exp"}, "Fn::ImportValue Exp"),
    ],
)
def test_unknown_references_are_named(expr: dict[str, Any], named: str) -> None:
    with pytest.raises(UnresolvedReferenceError) as err:
        resolve(expr, {"Dist": "E1"})
    assert named in str(err.value)


def test_unsupported_intrinsics_are_refused() -> None:
    with pytest.raises(AssemblyError, match="Fn::If"):
        resolve({"Fn::If": ["Cond", "a", "b"]}, {})


def test_cfn_stringify_matches_what_a_handler_receives() -> None:
    assert [cfn_stringify(v) for v in (True, False, 42, "x")] == ["true", "false", "42", "x"]


def test_asset_path_metadata_inline_code_and_aliases(tmp_path: Path) -> None:
    asset = tmp_path / "cdk.out" / "asset.abc"
    asset.mkdir(parents=True)
    fn = function_resource(Code={"S3Bucket": "b", "S3Key": "unknown.zip"}, FunctionName="purger")
    fn["Metadata"] = {"aws:asset:path": "asset.abc"}
    template = {
        "Resources": {
            "Fn": fn,
            "Inline": function_resource(Code={"ZipFile": "def main(e, c):\n    return 1\n"}),
            "Alias": {"Type": "AWS::Lambda::Alias", "Properties": {"FunctionName": {"Ref": "Fn"}}},
            "ViaMeta": cr({"Fn::GetAtt": ["Fn", "Arn"]}),
            "ViaInline": cr({"Fn::GetAtt": "Inline.Arn"}),
            "ViaAlias": cr({"Ref": "Alias"}),
            "ViaLiteralArn": cr("arn:aws:lambda:us-east-1:123456789012:function:purger"),
        }
    }
    stack = load_assembly(write_assembly(tmp_path / "cdk.out", template, stackName="real-name"))[0]
    assert stack.stack_name == "real-name"
    specs = {s.logical_id: s for s in find_custom_resources(stack)}
    assert specs["ViaMeta"].provider.asset_dir == asset
    assert specs["ViaMeta"].provider.name == "purger"
    assert specs["ViaMeta"].provider.timeout_seconds == 3  # Lambda's default
    assert specs["ViaAlias"].provider_logical_id == "Fn"
    assert specs["ViaLiteralArn"].provider_logical_id == "Fn"
    inline_dir = specs["ViaInline"].provider.asset_dir
    assert (inline_dir / "index.py").read_text().startswith("def main")
    shutil.rmtree(inline_dir)


def test_non_lambda_providers_and_bad_references_are_explained(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "BySns": cr({"Ref": "Topic"}),
        }
    }
    stack = load_assembly(write_assembly(tmp_path / "a", template))[0]
    with pytest.raises(AssemblyError, match="AWS::SNS::Topic"):
        find_custom_resources(stack)

    template = {"Resources": {"Missing": cr({"Fn::ImportValue": "NoSuchExport"})}}
    stack = load_assembly(write_assembly(tmp_path / "b", template))[0]
    with pytest.raises(AssemblyError, match="NoSuchExport"):
        find_custom_resources(stack)

    env_ref = function_resource(
        Code={"ZipFile": "x"}, Environment={"Variables": {"DIST": {"Ref": "Dist"}}}
    )
    template = {"Resources": {"Fn": env_ref, "C": cr({"Fn::GetAtt": ["Fn", "Arn"]})}}
    stack = load_assembly(write_assembly(tmp_path / "c", template))[0]
    with pytest.raises(UnresolvedReferenceError, match="DIST"):
        find_custom_resources(stack)
    (spec,) = find_custom_resources(stack, refs={"Dist": "E77"})
    assert spec.provider.environment == {"DIST": "E77"}
    shutil.rmtree(spec.provider.asset_dir)


def test_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AssemblyError, match=r"manifest\.json"):
        load_assembly(tmp_path)


def event_invoke_config(function: Any, **props: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::EventInvokeConfig",
        "Properties": {"FunctionName": function, "Qualifier": "$LATEST", **props},
    }


def test_event_invoke_configs_name_their_function_and_destination(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Fn": function_resource(Code={"ZipFile": "x"}),
            "Answerer": function_resource(Code={"ZipFile": "y"}, Timeout=120),
            "FnAsync": event_invoke_config(
                {"Ref": "Fn"},
                MaximumRetryAttempts=1,
                MaximumEventAgeInSeconds=600,
                DestinationConfig={
                    "OnFailure": {"Destination": {"Fn::GetAtt": ["Answerer", "Arn"]}}
                },
            ),
            "AnswererAsync": event_invoke_config({"Ref": "Answerer"}),
        }
    }
    stack = load_assembly(write_assembly(tmp_path / "cdk.out", template))[0]
    configs = {c.logical_id: c for c in find_event_invoke_configs(stack)}
    fn_async = configs["FnAsync"]
    assert (fn_async.function_logical_id, fn_async.retry_attempts) == ("Fn", 1)
    assert fn_async.max_event_age_seconds == 600
    assert fn_async.on_failure_logical_id == "Answerer"
    assert fn_async.on_failure is not None and fn_async.on_failure.timeout_seconds == 120
    # Lambda's defaults when the template leaves them out; no destination, no record.
    answerer = configs["AnswererAsync"]
    assert (answerer.retry_attempts, answerer.max_event_age_seconds) == (2, 21600)
    assert answerer.on_failure is None
    for config in configs.values():
        if config.on_failure is not None:
            shutil.rmtree(config.on_failure.asset_dir)


def test_event_invoke_configs_that_cannot_run_locally_are_explained(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Fn": function_resource(Code={"ZipFile": "x"}),
            "Async": event_invoke_config({"Ref": "Fn"}, Qualifier="live"),
        }
    }
    stack = load_assembly(write_assembly(tmp_path / "a", template))[0]
    with pytest.raises(AssemblyError, match=r"Qualifier \$LATEST"):
        find_event_invoke_configs(stack)
    template = {"Resources": {"Async": event_invoke_config("my-function-by-name")}}
    stack = load_assembly(write_assembly(tmp_path / "b", template))[0]
    with pytest.raises(AssemblyError, match="expected a Ref or Fn::GetAtt"):
        find_event_invoke_configs(stack)

"""The provider shared beyond its stack: the exported ServiceToken, grants by distribution
id, and the two examples built on them (a CDK app, a plain CloudFormation template)."""

from __future__ import annotations

import json
import os
import re
import runpy
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_cloudfront as cloudfront
from cfnlint.decode import decode

from cdk_cloudfront_invalidation import CloudFrontInvalidation, CloudFrontInvalidationProvider
from cdk_cloudfront_invalidation._asset import handler_asset_dir
from cdk_cloudfront_invalidation._function import ON_FAILURE_HANDLER
from cloudfront_purge.changed import s3_plan
from cloudfront_purge.function.responder import response_data
from cloudfront_purge.model import rules

ROOT = Path(__file__).resolve().parents[2]
SHARED_APP = ROOT / "examples" / "shared_provider_app.py"
RAW_TEMPLATE = ROOT / "examples" / "raw-cloudformation.yaml"
INVALIDATION_ACTIONS = [
    "cloudfront:CreateInvalidation",
    "cloudfront:GetInvalidation",
    "cloudfront:ListInvalidations",
]
HANDLER = "cloudfront_purge.function.entry.handler"


def arn(distribution_id: str) -> dict[str, Any]:
    """How a distribution ARN in the stack's own account and partition synthesizes."""
    return {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":cloudfront::", {"Ref": "AWS::AccountId"},
             f":distribution/{distribution_id}"],
        ]
    }  # fmt: skip


def invalidation_grants(template: assertions.Template) -> list[Any]:
    """The Resource of every statement that allows the invalidation actions."""
    found = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Action"] == INVALIDATION_ACTIONS:
                assert statement["Effect"] == "Allow"
                found.append(statement["Resource"])
    return found


def provider_template() -> assertions.Template:
    """The template of a stack that holds the shared provider and nothing else."""
    stack = cdk.Stack(cdk.App(), "Provider")
    CloudFrontInvalidationProvider.of_stack(stack)
    return assertions.Template.from_stack(stack)


def provider_function_id(template: assertions.Template, handler: str = HANDLER) -> str:
    """The logical id of the one function whose entry point is ``handler``."""
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": handler}}
    )
    (function_id,) = functions
    return str(function_id)


# --- CloudFrontInvalidationProvider: export and grants ------------------------------------------


def test_export_service_token_exports_the_function_arn() -> None:
    stack = cdk.Stack(cdk.App(), "Provider")
    provider = CloudFrontInvalidationProvider.of_stack(stack)
    first = provider.export_service_token("PurgeToken")
    assert provider.export_service_token("PurgeToken") is first
    provider.export_service_token("PurgeTokenV2")  # to move importers to a new name

    template = assertions.Template.from_stack(stack)
    function_id = provider_function_id(template)
    outputs = template.to_json()["Outputs"].values()
    assert sorted(o["Export"]["Name"] for o in outputs) == ["PurgeToken", "PurgeTokenV2"]
    assert all(o["Value"] == {"Fn::GetAtt": [function_id, "Arn"]} for o in outputs)
    assert stack.resolve(provider.service_token) == {"Fn::GetAtt": [function_id, "Arn"]}


def test_an_empty_export_name_is_refused() -> None:
    provider = CloudFrontInvalidationProvider.of_stack(cdk.Stack(cdk.App(), "Provider"))
    with pytest.raises(ValueError, match="export_name must not be empty"):
        provider.export_service_token(" ")


def test_grant_distribution_ids_names_exactly_those_distributions() -> None:
    stack = cdk.Stack(cdk.App(), "Provider")
    provider = CloudFrontInvalidationProvider.of_stack(stack)
    from_parameter = cdk.CfnParameter(stack, "DistributionId").value_as_string
    provider.grant_distribution_ids(["E2QWRUHAPOMQZL", "E1EXAMPLE2345"])
    provider.grant_distribution_ids(["E2QWRUHAPOMQZL", from_parameter])  # once each

    grants = invalidation_grants(assertions.Template.from_stack(stack))
    granted = [r for resource in grants for r in (resource if isinstance(resource, list) else [resource])]
    parameter_arn = {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":cloudfront::", {"Ref": "AWS::AccountId"},
             ":distribution/", {"Ref": "DistributionId"}],
        ]
    }  # fmt: skip
    assert granted == [arn("E2QWRUHAPOMQZL"), arn("E1EXAMPLE2345"), parameter_arn]
    assert '"*"' not in json.dumps(grants)


@pytest.mark.parametrize("bad", ["E2QW-RUHAPOMQZL", "", "arn:aws:cloudfront::1:distribution/E1"])
def test_grant_distribution_ids_refuses_what_is_not_an_id(bad: str) -> None:
    provider = CloudFrontInvalidationProvider.of_stack(cdk.Stack(cdk.App(), "Provider"))
    with pytest.raises(ValueError, match=r"distribution_ids: .* is not a CloudFront distribution id"):
        provider.grant_distribution_ids([bad])


def test_construct_and_shared_users_share_one_function() -> None:
    stack = cdk.Stack(cdk.App(), "Site")
    own = cloudfront.Distribution.from_distribution_attributes(
        stack, "Own", distribution_id="EOWN12345", domain_name="d1.cloudfront.net"
    )
    purge = CloudFrontInvalidation(stack, "Purge", distribution=own, source_hash="v1")
    provider = CloudFrontInvalidationProvider.of_stack(stack)
    assert purge.provider is provider
    provider.export_service_token("SiteServiceToken")
    provider.grant_distribution_ids(["EOTHER1234"])

    template = assertions.Template.from_stack(stack)
    function_id = provider_function_id(template)
    (custom,) = template.find_resources("Custom::CloudFrontInvalidation").values()
    assert custom["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert invalidation_grants(template) == [arn("EOWN12345"), arn("EOTHER1234")]


def test_each_provider_role_writes_only_to_its_own_log_group() -> None:
    """The provider and its on-failure answerer: a role, a log group, a function each."""
    template = provider_template()
    roles = template.find_resources("AWS::IAM::Role")
    assert len(roles) == 2
    assert all("ManagedPolicyArns" not in r["Properties"] for r in roles.values())
    functions = template.find_resources("AWS::Lambda::Function")
    assert sorted(f["Properties"]["Handler"] for f in functions.values()) == [
        HANDLER,
        ON_FAILURE_HANDLER,
    ]
    policies = template.find_resources("AWS::IAM::Policy").values()
    for function in functions.values():
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        logs = [
            s
            for policy in policies
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if str(s["Action"]).count("logs:")
        ]
        assert logs == [
            {
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
            }
        ]


# --- asynchronous invocation: retries, event age, on-failure answer -----------------------------


def test_async_invocation_gives_up_to_an_on_failure_function_that_cannot_loop() -> None:
    template = provider_template()
    function_id = provider_function_id(template)
    on_failure_id = provider_function_id(template, ON_FAILURE_HANDLER)
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c
        for c in template.find_resources("AWS::Lambda::EventInvokeConfig").values()
    }
    assert set(configs) == {function_id, on_failure_id}
    provider = configs[function_id]["Properties"]
    assert provider["MaximumRetryAttempts"] == 2
    assert provider["MaximumEventAgeInSeconds"] == 1800
    assert provider["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [on_failure_id, "Arn"]}}
    }
    answerer = configs[on_failure_id]["Properties"]
    assert "DestinationConfig" not in answerer  # nothing to loop through
    assert answerer["MaximumRetryAttempts"] == 2
    # Lambda checks the destination permission when it creates the config.
    assert any("OnFailureInvoke" in d for d in _list(configs[function_id].get("DependsOn", [])))


def test_the_provider_may_invoke_exactly_itself_and_its_on_failure_function() -> None:
    template = provider_template()
    function_id = provider_function_id(template)
    on_failure_id = provider_function_id(template, ON_FAILURE_HANDLER)
    invoke_grants = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert "*" not in json.dumps(statement["Resource"]).replace('"Fn::', "")
            if "lambda:InvokeFunction" in _list(statement["Action"]):
                invoke_grants.append(statement["Resource"])
    assert sorted(invoke_grants, key=json.dumps) == sorted(
        [{"Fn::GetAtt": [function_id, "Arn"]}, {"Fn::GetAtt": [on_failure_id, "Arn"]}],
        key=json.dumps,
    )


def test_both_functions_run_the_same_asset_with_standard_library_entry_points() -> None:
    template = provider_template()
    codes = {
        json.dumps(f["Properties"]["Code"])
        for f in template.find_resources("AWS::Lambda::Function").values()
    }
    assert len(codes) == 1
    staged = Path(handler_asset_dir()) / "cloudfront_purge"
    for module in ("entry.py", "fallback.py", "on_failure.py", "responder.py", "stack_status.py"):
        assert (staged / "function" / module).is_file()


# umask 077 is what a locked-down build host uses; Lambda's runtime user is not the owner.
UMASK_SYNTH = """
import json, os, sys
os.umask(0o077)
import aws_cdk as cdk
from cdk_cloudfront_invalidation import CloudFrontInvalidationProvider
from cdk_cloudfront_invalidation._asset import handler_asset_dir
app = cdk.App(outdir=sys.argv[1])
CloudFrontInvalidationProvider.of_stack(cdk.Stack(app, "S"))
app.synth()
# The staging folder is removed when this process exits: report its modes now.
staged = handler_asset_dir()
modes = {os.path.relpath(os.path.join(folder, name), staged): os.stat(os.path.join(folder, name)).st_mode & 0o777
         for folder, dirs, files in os.walk(staged) for name in dirs + files}
modes["."] = os.stat(staged).st_mode & 0o777
print(json.dumps({"staged": staged, "modes": modes}))
"""


def test_asset_files_are_world_readable_whatever_the_umask(tmp_path: Path) -> None:
    out = tmp_path / "cdk.out"
    done = subprocess.run(
        [sys.executable, "-c", UMASK_SYNTH, str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"},
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    staged = Path(report["staged"])
    (asset,) = [p for p in out.iterdir() if p.name.startswith("asset.") and p.is_dir()]
    wrong = {
        name: oct(mode) for name, mode in report["modes"].items()
        if mode != (0o644 if name.endswith(".py") else 0o755)
    }
    assert wrong == {}
    assert not staged.exists()  # removed at exit, once CDK had copied it into cdk.out
    # CDK copies file modes into cdk.out; its folders there are made by CDK's own copy
    # under the host's umask and reach the upload zip as file paths only, not entries.
    assert modes_not(asset, file_mode=0o644, dir_mode=None) == {}
    assert (asset / "cloudfront_purge" / "function" / "entry.py").is_file()


def modes_not(root: Path, *, file_mode: int, dir_mode: int | None) -> dict[str, str]:
    """Entries under ``root`` (itself included) whose mode is not the one expected."""
    wrong = {}
    for path in [root, *root.rglob("*")]:
        expected = dir_mode if path.is_dir() else file_mode
        mode = stat.S_IMODE(path.stat().st_mode)
        if expected is not None and mode != expected:
            wrong[path.relative_to(root).as_posix()] = oct(mode)
    return wrong


# --- examples/shared_provider_app.py ------------------------------------------------------------


def synth_shared_app(outdir: Path, context: dict[str, str]) -> cdk.cx_api.CloudAssembly:
    """Run the example's main() as `cdk synth -c ...` would (outdir and context passed in)."""
    real_app = cdk.App
    apps: list[cdk.App] = []

    def app_here(**kwargs: Any) -> cdk.App:
        apps.append(real_app(**{**kwargs, "outdir": str(outdir), "context": context}))
        return apps[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cdk, "App", app_here)
        runpy.run_path(str(SHARED_APP), run_name="__main__")
    (app,) = apps
    return app.synth()


def test_shared_provider_app_exports_and_imports_the_service_token(tmp_path: Path) -> None:
    assembly = synth_shared_app(tmp_path, {"distributionIds": "E2QWRUHAPOMQZL, E1EXAMPLE2345"})
    export = runpy.run_path(str(SHARED_APP))["SERVICE_TOKEN_EXPORT"]
    provider = assembly.get_stack_by_name("CloudFrontInvalidationProvider")
    release = assembly.get_stack_by_name("SiteRelease")

    template = assertions.Template.from_json(provider.template)
    function_id = provider_function_id(template)
    (output,) = provider.template["Outputs"].values()
    assert output["Export"] == {"Name": export}
    assert output["Value"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert invalidation_grants(template) == [[arn("E2QWRUHAPOMQZL"), arn("E1EXAMPLE2345")]]

    # The purging stack has no function of its own and is deployed after the provider.
    stack_dependencies = [d.id for d in release.dependencies if not d.id.endswith(".assets")]
    assert stack_dependencies == ["CloudFrontInvalidationProvider"]
    resources = release.template["Resources"]
    assert {r["Type"] for r in resources.values()} == {"Custom::CloudFrontInvalidation"}
    (purge,) = resources.values()
    props = dict(purge["Properties"])
    assert props.pop("ServiceToken") == {"Fn::ImportValue": export}
    service_timeout = float(props.pop("ServiceTimeout"))
    spec = rules.parse_properties(props)  # what the handler will make of it
    assert spec.distribution_ids == ("E2QWRUHAPOMQZL", "E1EXAMPLE2345")
    assert spec.source_hash == cdk.FileSystem.fingerprint(str(ROOT / "site"))
    assert service_timeout == spec.timeout_seconds + rules.SERVICE_TIMEOUT_MARGIN_SECONDS
    # The consuming stack's rollbacks are detected: DescribeStacks on it, by name.
    describe = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "cloudformation:DescribeStacks"
    ]
    assert any("stack/SiteRelease/*" in json.dumps(s["Resource"]) for s in describe)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({}, "give the distributions the shared provider may purge: -c distributionIds="),
        ({"distributionIds": "E2QWRUHAPOMQZL,d-123"}, "distributionIds: 'd-123' is not a CloudFront distribution id"),
    ],
)
def test_shared_provider_app_needs_distribution_ids(
    tmp_path: Path, context: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        synth_shared_app(tmp_path, context)


# --- examples/raw-cloudformation.yaml -----------------------------------------------------------


def load_raw_template() -> dict[str, Any]:
    template, problems = decode(str(RAW_TEMPLATE))
    assert problems == []
    assert template is not None
    return dict(template)


def as_cloudformation_passes_it(value: Any, parameters: dict[str, str]) -> Any:
    """Resolve Ref to parameters and turn scalars into strings, as CloudFormation does."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return parameters[value["Ref"]]
    if isinstance(value, dict):
        return {k: as_cloudformation_passes_it(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [as_cloudformation_passes_it(v, parameters) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_raw_template_properties_are_what_the_handler_accepts() -> None:
    template = load_raw_template()
    parameters = {
        name: str(spec.get("Default", ""))
        for name, spec in template["Parameters"].items()
    }
    parameters.update(DistributionId="E2QWRUHAPOMQZL", ContentHash="3f9c2ab1d7e0")
    for name in ("DistributionId", "ContentHash"):
        pattern = template["Parameters"][name]["AllowedPattern"]
        assert re.fullmatch(pattern, parameters[name])
    assert not re.fullmatch(template["Parameters"]["DistributionId"]["AllowedPattern"], "E2-QW")
    shared_export = runpy.run_path(str(SHARED_APP))["SERVICE_TOKEN_EXPORT"]
    assert parameters["ServiceTokenExport"] == shared_export

    purge = template["Resources"]["Purge"]
    assert purge["Type"] == rules.RESOURCE_TYPE
    props = as_cloudformation_passes_it(purge["Properties"], parameters)
    assert props.pop("ServiceToken") == {"Fn::ImportValue": shared_export}
    service_timeout = float(props.pop("ServiceTimeout"))
    # Every property the provider knows is set (DistributionId is the alias of DistributionIds).
    assert set(props) == rules.KNOWN_PROPS - {rules.PROP_DISTRIBUTION_ID}
    spec = rules.parse_properties(props)
    # By default OnlyChanged is false and Paths is purged.
    assert s3_plan.parse_changed_only(props) == s3_plan.ChangedOnlySpec(
        only_changed=False, manifest=None, url_prefix="/", index_document="index.html",
        max_paths=30,
    )
    with_manifest = as_cloudformation_passes_it(
        purge["Properties"], {**parameters, "PurgeOnlyChanged": "true", "ManifestUrl": "s3://assets/site.cfpurge-manifest"}
    )
    changed_only = s3_plan.parse_changed_only(with_manifest)
    assert changed_only.only_changed and changed_only.manifest == s3_plan.S3Location(
        "assets", "site.cfpurge-manifest"
    )
    assert spec == rules.PurgeSpec(
        distribution_ids=("E2QWRUHAPOMQZL",),
        paths=("/index.html", "/assets/*"),
        source_hash="3f9c2ab1d7e0",
        wait_for_completion=True,
        timeout_seconds=1800.0,
        invalidate_on_create=True,
    )
    assert service_timeout == spec.timeout_seconds + rules.SERVICE_TIMEOUT_MARGIN_SECONDS


def test_raw_template_documents_every_property_and_outputs_real_attributes() -> None:
    lines = RAW_TEMPLATE.read_text().splitlines()
    template = load_raw_template()
    for name in template["Resources"]["Purge"]["Properties"]:
        (index,) = [i for i, line in enumerate(lines) if line.strip().startswith(f"{name}:")]
        assert lines[index - 1].strip().startswith("#"), f"{name} has no comment above it"
    comments = "\n".join(line for line in lines if line.strip().startswith("#"))
    assert f"{rules.PROP_DISTRIBUTION_ID}:" in comments  # the alias is documented too
    attributes = set(
        response_data(
            invalidation_ids=["I1"], caller_references=["r"], status="Completed",
            distribution_ids=["E1"], path_count=1,
        )
    )  # fmt: skip
    for output in template["Outputs"].values():
        resource, attribute = output["Value"]["Fn::GetAtt"]
        assert resource == "Purge" and attribute in attributes


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

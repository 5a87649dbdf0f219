"""The provider's IAM, decided by an evaluator this project did not write.

app.py and every CDK app in examples/ are synthesized; for each provider function (and its
on-failure function) the role's policies are read from the template and every call the
function makes is put to ``@cloud-copilot/iam-simulate`` (localcloud.iam) with the resource
ARN AWS evaluates for that action (Service Authorization Reference): each must be Allowed.
Calls the functions must not be able to make (another distribution, tenant, stack,
function, log group, bucket; a key that is not a manifest) must be denied. The calls are
listed here from the handler's code, not from the construct's grant lists, so a grant the
construct forgets is caught. Tests that mutate a synthesized grant show the check failing.
"""

from __future__ import annotations

import copy
import runpy
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from localcloud.cloudformation.assembly import (
    StackTemplate,
    find_custom_resources,
    load_assembly,
    pseudo_refs,
    resolve,
)
from localcloud.cloudformation.iam_policies import (
    function_role,
    physical_refs,
    role_arn,
    role_policies,
)
from localcloud.iam import Decision, IamRequest, NamedPolicy, evaluate

ROOT = Path(__file__).resolve().parents[2]
RESOURCE_TYPE = "Custom::CloudFrontInvalidation"
PROVIDER_HANDLER = "cloudfront_purge.function.entry.handler"
ON_FAILURE_HANDLER = "cloudfront_purge.function.on_failure.handler"
MANIFEST_EXTENSION = ".cfpurge-manifest"
OTHER_ACCOUNT = "210987654321"

#: The calls the engine (cloudfront_purge.engine) makes on a distribution (create, then
#: status and list to find an earlier one), and on a distribution tenant (the
#: ...ForDistributionTenant variants).
DISTRIBUTION_CALLS = (
    "cloudfront:CreateInvalidation",
    "cloudfront:GetInvalidation",
    "cloudfront:ListInvalidations",
)
TENANT_CALLS = (
    "cloudfront:CreateInvalidationForDistributionTenant",
    "cloudfront:GetInvalidationForDistributionTenant",
    "cloudfront:ListInvalidationsForDistributionTenant",
)
#: Lambda writes a function's logs with its execution role (AWS Lambda Developer Guide,
#: "Sending Lambda function logs to CloudWatch Logs"); both actions take a log-stream ARN.
LOG_CALLS = ("logs:CreateLogStream", "logs:PutLogEvents")

#: (script, context) of every CDK app the project ships.
APPS: dict[str, tuple[Path, dict[str, str]]] = {
    "app.py": (ROOT / "app.py", {}),
    "changed_only_app.py": (ROOT / "examples" / "changed_only_app.py", {}),
    "shared_provider_app.py": (
        ROOT / "examples" / "shared_provider_app.py",
        {"distributionIds": "E2QWRUHAPOMQZL,E1EXAMPLE2345"},
    ),
    "tags_and_tenants_app.py": (ROOT / "examples" / "tags_and_tenants_app.py", {}),
}


def run_app(script: Path, outdir: Path, context: dict[str, str]) -> None:
    """Run a CDK app script as `cdk synth` would, in this process (the jsii kernel is
    already up, so outdir and context go to ``cdk.App`` as arguments)."""
    real_app = cdk.App

    def app_here(**kwargs: Any) -> cdk.App:
        return real_app(**{**kwargs, "outdir": str(outdir), "context": context})

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cdk, "App", app_here)
        patch.chdir(ROOT)
        runpy.run_path(str(script), run_name="__main__")


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    outs: dict[str, Path] = {}
    for name, (script, context) in APPS.items():
        out = tmp_path_factory.mktemp(name.replace(".", "-"))
        run_app(script, out, context)
        outs[name] = out
    return outs


@dataclass(frozen=True)
class Case:
    """One call and the decision it must get."""

    where: str
    allowed: bool
    request: IamRequest

    def describe(self, decision: Decision) -> str:
        want = "Allowed" if self.allowed else "denied"
        return f"{self.where}: {self.request.action} on {self.request.resource}: {decision}, want {want}"


@dataclass
class _Principal:
    arn: str
    policies: list[NamedPolicy]
    function_arn: str
    log_group: str


def _functions(stack: StackTemplate, handler: str) -> list[str]:
    return sorted(
        logical_id
        for logical_id, resource in stack.resources.items()
        if resource.get("Type") == "AWS::Lambda::Function"
        and (resource.get("Properties") or {}).get("Handler") == handler
    )


def _principal(stack: StackTemplate, function: str, refs: dict[str, Any]) -> _Principal:
    role = function_role(stack, function)
    props = stack.resource(function).get("Properties") or {}
    log_group = str(resolve((props.get("LoggingConfig") or {}).get("LogGroup"), refs))
    return _Principal(
        arn=role_arn(stack, role, refs),
        policies=role_policies(stack, role, refs),
        function_arn=str(resolve({"Fn::GetAtt": [function, "Arn"]}, refs)),
        log_group=log_group,
    )


def _ids(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def provider_cases(app: str, stacks: list[StackTemplate]) -> list[Case]:
    """Every call each provider of the app (and its on-failure function) makes, Allowed,
    and the calls next to them that must be denied."""
    served: dict[tuple[str, str], list[tuple[StackTemplate, dict[str, Any]]]] = {}
    for stack in stacks:
        refs = physical_refs(stack)
        for spec in find_custom_resources(stack, RESOURCE_TYPE):
            props = spec.resolve_properties(refs, service_token="unused")
            served.setdefault((spec.provider_stack.name, spec.provider_logical_id), []).append(
                (stack, props)
            )
    cases: list[Case] = []
    for stack in stacks:
        providers = _functions(stack, PROVIDER_HANDLER)
        on_failures = _functions(stack, ON_FAILURE_HANDLER)
        if not providers:
            continue
        assert len(providers) == 1 and len(on_failures) == 1, (stack.name, providers, on_failures)
        uses = served.get((stack.name, providers[0]), [])
        assert uses, f"{app}: provider {stack.name}/{providers[0]} serves no resource"
        cases += _stack_cases(app, stack, providers[0], on_failures[0], uses)
    return cases


def _stack_cases(
    app: str,
    stack: StackTemplate,
    provider_id: str,
    on_failure_id: str,
    uses: list[tuple[StackTemplate, dict[str, Any]]],
) -> list[Case]:
    """The cases of one provider stack: its provider and on-failure functions' calls."""
    cases: list[Case] = []
    refs = physical_refs(stack)
    region, account = str(refs["AWS::Region"]), str(refs["AWS::AccountId"])
    provider = _principal(stack, provider_id, refs)
    on_failure = _principal(stack, on_failure_id, refs)

    def case(
        who: _Principal,
        label: str,
        allowed: bool,
        action: str,
        resource: str,
        resource_account: str = account,
        context: dict[str, str] | None = None,
    ) -> None:
        cases.append(
            Case(
                where=f"{app} {stack.name} {label}",
                allowed=allowed,
                request=IamRequest(who.arn, who.policies, action, resource, resource_account,
                                   context or {}),
            )
        )

    def logs(who: _Principal, label: str, allowed: bool, group: str) -> None:
        stream = f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:2026/12/06/[$LATEST]0f1e2d"
        for action in LOG_CALLS:
            case(who, label, allowed, action, stream)

    def prune(bucket: str, prefix: str) -> None:
        """The prune's calls (prune/run.py): the state read (ListObjectsV2 on its key,
        GetObject), the folder's other states (ListObjectsV2 on ``prune-state-``), the state
        written, the deletions, a Delete removing the state; and, denied, a listing of the
        site and a deletion in another bucket."""
        state = f"{prefix}.cloudfront-purge/prune-state-0123456789abcdef0123.json"
        bucket_arn = f"arn:aws:s3:::{bucket}"
        for listed in (state, f"{prefix}.cloudfront-purge/prune-state-"):
            case(provider, "prune state listing", True, "s3:ListBucket", bucket_arn,
                 context={"s3:prefix": listed})
        case(provider, "prune lists the site", False, "s3:ListBucket", bucket_arn,
             context={"s3:prefix": prefix})
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            case(provider, "prune state", True, action, f"{bucket_arn}/{state}")
        case(provider, "prune deletes a replaced file", True, "s3:DeleteObject",
             f"{bucket_arn}/{prefix}assets/app.1111.js")
        case(provider, "prune deletes in another bucket", False, "s3:DeleteObject",
             f"arn:aws:s3:::{bucket}-other/{prefix}assets/app.1111.js")

    def distribution(distribution_id: str, acct: str = account) -> str:
        return f"arn:aws:cloudfront::{acct}:distribution/{distribution_id}"

    def tenant(tenant_id: str) -> str:
        return f"arn:aws:cloudfront::{account}:distribution-tenant/{tenant_id}"

    def stack_arn(name: str) -> str:
        return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/5e1f0c3a-2b4d-4c6e-8f10-1a2b3c4d5e6f"

    # --- what the provider function does ---------------------------------------------
    for served_stack, props in uses:
        ids = _ids(props.get("DistributionId")) + _ids(props.get("DistributionIds"))
        for distribution_id in ids:
            for action in DISTRIBUTION_CALLS:
                case(provider, "purge", True, action, distribution(distribution_id))
            # The same id in another account: CloudFront invalidations do not cross
            # accounts, and the grant names this account.
            case(
                provider,
                "other account",
                False,
                DISTRIBUTION_CALLS[0],
                distribution(distribution_id, OTHER_ACCOUNT),
                OTHER_ACCOUNT,
            )
            case(
                on_failure,
                "on-failure purges nothing",
                False,
                DISTRIBUTION_CALLS[0],
                distribution(distribution_id),
            )
        for tenant_id in _ids(props.get("DistributionTenantIds")):
            for action in TENANT_CALLS:
                case(provider, "tenant purge", True, action, tenant(tenant_id))
            case(on_failure, "on-failure purges nothing", False, TENANT_CALLS[0], tenant(tenant_id))
        manifest = props.get("Manifest")
        if manifest:
            bucket, key = str(manifest).removeprefix("s3://").split("/", 1)
            # This deploy's manifest, and the previous deploy's (another content hash).
            previous = "0" * 64 + MANIFEST_EXTENSION
            for object_key in (key, previous):
                case(
                    provider,
                    "manifest",
                    True,
                    "s3:GetObject",
                    f"arn:aws:s3:::{bucket}/{object_key}",
                )
            case(
                provider,
                "not a manifest",
                False,
                "s3:GetObject",
                f"arn:aws:s3:::{bucket}/{'1' * 64}.zip",
            )
            case(
                provider,
                "another bucket",
                False,
                "s3:GetObject",
                f"arn:aws:s3:::{bucket}-other/{key}",
            )
            # No ListBucket: a manifest that is gone reads as 403 AccessDenied, not 404
            # (S3 API Reference, GetObject, Permissions); the handler's Reason says so.
            case(provider, "no ListBucket", False, "s3:ListBucket", f"arn:aws:s3:::{bucket}")
            case(
                on_failure,
                "on-failure reads no manifest",
                False,
                "s3:GetObject",
                f"arn:aws:s3:::{bucket}/{key}",
            )
        if props.get("PruneBucket"):
            prune(str(props["PruneBucket"]), str(props.get("PruneKeyPrefix") or ""))
        # Rollback detection: DescribeStacks on the stack that sent the request, from
        # the handler and from the on-failure function.
        served_id = str(
            pseudo_refs(served_stack, region=region, account_id=account)["AWS::StackId"]
        )
        case(
            provider,
            f"DescribeStacks {served_stack.stack_name}",
            True,
            "cloudformation:DescribeStacks",
            served_id,
        )
        case(
            on_failure,
            f"DescribeStacks {served_stack.stack_name}",
            True,
            "cloudformation:DescribeStacks",
            served_id,
        )
    for action in DISTRIBUTION_CALLS:
        case(provider, "another distribution", False, action, distribution("E0THERD1STR1B"))
    for action in TENANT_CALLS:
        case(provider, "another tenant", False, action, tenant("dt_2zOtherTenantIdNotGranted"))
    for who in (provider, on_failure):
        case(
            who,
            "another stack",
            False,
            "cloudformation:DescribeStacks",
            stack_arn("SomeoneElsesStack"),
        )
    # The hand-off invokes the function itself; Lambda invokes the on-failure
    # destination with the provider's role.
    case(provider, "self-invoke", True, "lambda:InvokeFunction", provider.function_arn)
    case(provider, "on-failure destination", True, "lambda:InvokeFunction", on_failure.function_arn)
    case(
        provider,
        "another function",
        False,
        "lambda:InvokeFunction",
        f"arn:aws:lambda:{region}:{account}:function:another-function",
    )
    case(
        on_failure,
        "on-failure invokes nothing",
        False,
        "lambda:InvokeFunction",
        provider.function_arn,
    )
    logs(provider, "own log group", True, provider.log_group)
    logs(on_failure, "own log group", True, on_failure.log_group)
    logs(provider, "the on-failure log group", False, on_failure.log_group)
    logs(on_failure, "the provider's log group", False, provider.log_group)
    logs(provider, "another log group", False, "/aws/lambda/another-function")
    return cases


def wrong(cases: list[Case]) -> list[str]:
    """The cases whose decision is not the one they must get."""
    decisions = evaluate(c.request for c in cases)
    return [
        c.describe(d)
        for c, d in zip(cases, decisions, strict=True)
        if (d == "Allowed") != c.allowed
    ]


def all_cases(assemblies: dict[str, Path]) -> Iterator[Case]:
    for name, out in assemblies.items():
        yield from provider_cases(name, load_assembly(out))


def test_every_app_gets_exactly_the_calls_it_makes(assemblies: dict[str, Path]) -> None:
    cases = list(all_cases(assemblies))
    started = time.monotonic()
    problems = wrong(cases)
    elapsed = time.monotonic() - started
    assert problems == []
    # Every app was looked at, with calls of both kinds.
    apps = {c.where.split(" ")[0] for c in cases}
    assert apps == set(APPS)
    assert sum(c.allowed for c in cases) > 50 and sum(not c.allowed for c in cases) > 50
    assert any("tenant purge" in c.where for c in cases)
    assert any("manifest" in c.where and c.allowed for c in cases)
    assert any("prune state listing" in c.where and c.allowed for c in cases)
    print(f"{len(cases)} IAM requests evaluated in {elapsed:.2f} s")


# --- the check can fail --------------------------------------------------------------------


def _provider_policy_statements(stack: StackTemplate) -> Iterator[dict[str, Any]]:
    role = function_role(stack, _functions(stack, PROVIDER_HANDLER)[0])
    for resource in stack.resources.values():
        if resource.get("Type") != "AWS::IAM::Policy":
            continue
        props = resource["Properties"]
        if any(r == {"Ref": role} for r in props.get("Roles", [])):
            yield from props["PolicyDocument"]["Statement"]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action")
    return [action] if isinstance(action, str) else list(action or [])


def _mutated(out: Path, stack_name: str) -> tuple[list[StackTemplate], StackTemplate]:
    stacks = load_assembly(out)
    stack = next(s for s in stacks if s.stack_name == stack_name)
    stack.template = copy.deepcopy(stack.template)
    return stacks, stack


def test_a_missing_grant_fails_the_check(assemblies: dict[str, Path]) -> None:
    stacks, stack = _mutated(assemblies["app.py"], "StaticSite")
    for statement in _provider_policy_statements(stack):
        if "cloudfront:CreateInvalidation" in _actions(statement):
            statement["Action"] = [
                a for a in _actions(statement) if a != "cloudfront:CreateInvalidation"
            ]
    problems = wrong(provider_cases("app.py", stacks))
    assert problems
    assert all("cloudfront:CreateInvalidation on arn:aws:cloudfront::" in p for p in problems)
    assert all("ImplicitlyDenied, want Allowed" in p for p in problems)


def test_a_widened_grant_fails_the_check(assemblies: dict[str, Path]) -> None:
    stacks, stack = _mutated(assemblies["app.py"], "StaticSite")
    for statement in _provider_policy_statements(stack):
        if "cloudformation:DescribeStacks" in _actions(statement):
            statement["Resource"] = "*"
    problems = wrong(provider_cases("app.py", stacks))
    assert problems == [
        "app.py StaticSite another stack: cloudformation:DescribeStacks on "
        "arn:aws:cloudformation:us-east-1:123456789012:stack/SomeoneElsesStack/"
        "5e1f0c3a-2b4d-4c6e-8f10-1a2b3c4d5e6f: Allowed, want denied"
    ]


def test_a_manifest_grant_widened_to_the_bucket_fails_the_check(
    assemblies: dict[str, Path],
) -> None:
    stacks, stack = _mutated(assemblies["changed_only_app.py"], "ChangedOnlySite")
    for statement in _provider_policy_statements(stack):
        if _actions(statement) == ["s3:GetObject"]:
            statement["Resource"] = {
                "Fn::Sub": "arn:${AWS::Partition}:s3:::cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}/*"
            }
    problems = wrong(provider_cases("changed_only_app.py", stacks))
    assert len(problems) == 1
    assert "not a manifest: s3:GetObject" in problems[0] and "Allowed, want denied" in problems[0]

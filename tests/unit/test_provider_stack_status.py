"""The provider's rollback detection and log format, as synthesized: DescribeStacks on exact
stack ARNs only, and Lambda's JSON log format (which keeps the handler's log fields)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import assertions

from cdk_cloudfront_invalidation import CloudFrontInvalidationProvider


def describe_stacks_grants_by_role(template: assertions.Template) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for policy in template.find_resources("AWS::IAM::Policy").values():
        (role,) = policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("cloudformation:") for a in actions):
                assert actions == ["cloudformation:DescribeStacks"] and statement["Effect"] == "Allow"
                found.setdefault(role["Ref"], []).append(statement["Resource"])
    return found


def describe_stacks_grants(template: assertions.Template) -> list[Any]:
    """The provider's grants; its on-failure function (which answers a given-up rollback's
    request SUCCESS) must have exactly the same, and no other role any."""
    by_role = describe_stacks_grants_by_role(template)
    roles = template.find_resources("AWS::IAM::Role")
    on_failure = [r for r in roles if "OnFailureRole" in r]
    assert len(by_role) == 2 and len(on_failure) == 1, by_role
    provider_grants, on_failure_grants = (
        by_role[next(r for r in by_role if r not in on_failure)],
        by_role[on_failure[0]],
    )
    assert on_failure_grants == provider_grants
    return provider_grants


def test_the_provider_may_read_its_own_stacks_status_and_nothing_else() -> None:
    stack = cdk.Stack(cdk.App(), "Site")
    CloudFrontInvalidationProvider.of_stack(stack)
    template = assertions.Template.from_stack(stack)
    assert describe_stacks_grants(template) == [{"Ref": "AWS::StackId"}]


def test_other_stacks_are_granted_by_id_or_by_name_and_each_only_once() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Shared", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    other = cdk.Stack(app, "Other", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    provider = CloudFrontInvalidationProvider.of_stack(stack)
    raw_id = "arn:aws:cloudformation:eu-west-1:123456789012:stack/raw-site/0f1e2d3c-aaaa-bbbb-cccc-111122223333"
    provider.grant_rollback_detection([raw_id, "legacy-site", raw_id])
    provider.grant_rollback_detection(["legacy-site"])
    template = assertions.Template.from_stack(stack)
    grants = describe_stacks_grants(template)
    assert grants[0] == {"Ref": "AWS::StackId"}
    (extra,) = grants[1:]
    assert extra[0] == raw_id
    # A name becomes the stack's ARN with any unique suffix: the id is not known before the
    # stack exists. Never a bare "*".
    rendered = cdk.Stack.of(stack).resolve(extra[1])
    assert "stack/legacy-site/*" in str(rendered) and rendered != "*"
    assert len(extra) == 2
    assert other  # a second stack in the app does not change the provider's grants


def test_the_function_logs_in_lambdas_json_format_at_info() -> None:
    stack = cdk.Stack(cdk.App(), "Site")
    CloudFrontInvalidationProvider.of_stack(stack)
    functions = assertions.Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    # The provider and its on-failure answerer: one log convention for both.
    assert len(functions) == 2
    for function in functions.values():
        config = function["Properties"]["LoggingConfig"]
        assert config["LogFormat"] == "JSON"
        assert config["ApplicationLogLevel"] == "INFO" and config["SystemLogLevel"] == "WARN"

"""The local CloudFormation as a function sees it: DescribeStacks through the endpoint it is
given (AWS_ENDPOINT_URL_CLOUDFORMATION), answering the stack's status at each step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.cloudformation.lifecycle import LocalCloudFormation
from localcloud.cloudfront import LocalCloudFront
from tests.support.assembly import write_assembly

# A handler that reports, in its answer, what DescribeStacks said of its own stack.
REPORTER = """
import json, urllib.request
import boto3

def handler(event, context):
    client = boto3.client("cloudformation")
    try:
        (stack,) = client.describe_stacks(StackName=event["StackId"])["Stacks"]
        seen = stack["StackStatus"]
    except Exception as exc:
        seen = "error " + exc.response["Error"]["Code"]
    body = json.dumps({
        "Status": "SUCCESS", "PhysicalResourceId": "reporter", "StackId": event["StackId"],
        "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"],
        "Data": {"Seen": seen},
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": ""})
    urllib.request.urlopen(request, timeout=10).read()
"""


def reporter_assembly(root: Path) -> Path:
    template = {
        "Resources": {
            "Reporter": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Handler": "index.handler",
                    "Code": {"ZipFile": REPORTER},
                    "Timeout": 30,
                },
            },
            "Purge": {
                "Type": "Custom::CloudFrontInvalidation",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["Reporter", "Arn"]}, "V": "1"},
            },
        }
    }
    return write_assembly(root, template)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloudFormation]:
    cdk_out = reporter_assembly(tmp_path_factory.mktemp("reporter") / "cdk.out")
    with LocalCloudFront() as cloud, LocalCloudFormation(
        cdk_out, cloud=cloud, service_timeout=60
    ) as local:
        yield local


def seen(outcomes: list[Any]) -> list[tuple[str, str, str]]:
    return [(o.step, o.status, o.data.get("Seen", "")) for o in outcomes]


def test_the_function_sees_the_status_of_each_step_and_of_the_rollback(
    stack: LocalCloudFormation,
) -> None:
    if stack.stack_status is not None:  # another test ran first on this module's stack
        stack.delete("reset")
    assert seen(stack.deploy("create")) == [("create", "SUCCESS", "CREATE_IN_PROGRESS")]
    assert stack.stack_status == "CREATE_COMPLETE"
    assert seen(stack.deploy("update", overrides={"V": "2"})) == [
        ("update", "SUCCESS", "UPDATE_IN_PROGRESS")
    ]
    assert stack.stack_status == "UPDATE_COMPLETE"
    assert seen(stack.deploy("failing update", overrides={"V": "3"}, fail_after=True)) == [
        ("failing update", "SUCCESS", "UPDATE_IN_PROGRESS"),
        ("failing update (rollback)", "SUCCESS", "UPDATE_ROLLBACK_IN_PROGRESS"),
    ]
    assert stack.stack_status == "UPDATE_ROLLBACK_COMPLETE"


def test_describe_stacks_can_be_made_to_fail_for_the_function(
    stack: LocalCloudFormation,
) -> None:
    if stack.stack_status is None:
        stack.deploy("create")
    stack.describe_stacks_fault = "AccessDenied"
    try:
        outcomes = stack.deploy("update, DescribeStacks denied", overrides={"V": "denied"})
    finally:
        stack.describe_stacks_fault = None
    assert seen(outcomes) == [("update, DescribeStacks denied", "SUCCESS", "error AccessDenied")]
    assert stack.cloudformation_api.requests[-1]["StackName"].startswith(
        "arn:aws:cloudformation:"
    )  # the event's StackId, as the handler sends it


def test_a_delete_ends_in_delete_complete(stack: LocalCloudFormation) -> None:
    if stack.stack_status is None:
        stack.deploy("create")
    assert seen(stack.delete()) == [("delete", "SUCCESS", "DELETE_IN_PROGRESS")]
    assert stack.stack_status == "DELETE_COMPLETE"

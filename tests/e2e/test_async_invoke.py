"""Lambda's asynchronous invocation, as the provider configures it (retries, maximum event
age, on-failure destination), through the local CloudFormation: a crash on every attempt,
a lost first event, a duplicated event; and DescribeStacks as the function sees it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.cloudformation.lifecycle import LocalCloudFormation, Progress
from localcloud.cloudformation.responses import PutAttempt
from localcloud.cloudfront import LocalCloudFront
from localcloud.scenarios import Story

SERVICE_TIMEOUT = 120.0
CRASH_EVERY_TIME = """

def handler(event, context):  # appended by the test: the process dies on every attempt
    import os, signal
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture(scope="module")
def stack(app_assembly: Path) -> Iterator[LocalCloudFormation]:
    with LocalCloudFront(invalidation_seconds=0.5) as cloud, LocalCloudFormation(
        app_assembly, cloud=cloud, service_timeout=SERVICE_TIMEOUT
    ) as local:
        yield local


def ensure_created(stack: LocalCloudFormation) -> None:
    if all(r.properties is None for r in stack.resources.values()):
        (create,) = stack.deploy("first deploy")
        assert create.status == "SUCCESS", create.reason


def ensure_deleted(stack: LocalCloudFormation) -> None:
    """Whatever ran before on this module's stack (tests may run in any order across workers)."""
    if any(r.properties is not None for r in stack.resources.values()):
        stack.delete("reset")


def accepted(attempts: list[PutAttempt]) -> list[bytes]:
    return [a.raw for a in attempts if a.http_status == 200]


def test_the_template_async_config_is_what_the_local_lambda_applies(
    stack: LocalCloudFormation,
) -> None:
    ensure_created(stack)  # the config exists once CloudFormation has created it
    (resource,) = stack.resources.values()
    config = stack.lambda_.async_config(resource.function.name)
    assert config is not None
    assert (config.retry_attempts, config.max_event_age_seconds) == (2, 1800)
    assert config.on_failure in stack.destinations
    destination = stack.destinations[config.on_failure]
    assert destination.handler == "cloudfront_purge.function.on_failure.handler"
    assert stack.lambda_.async_config(destination.name) is not None
    assert stack.lambda_.async_config(destination.name).on_failure is None  # type: ignore[union-attr]


def test_a_crash_on_every_attempt_is_answered_by_the_on_failure_function(
    assembly_copy: Path,
) -> None:
    with LocalCloudFront(invalidation_seconds=0.5) as cloud, LocalCloudFormation(
        assembly_copy, cloud=cloud, service_timeout=SERVICE_TIMEOUT
    ) as local:
        (resource,) = local.resources.values()
        asset = resource.function.asset_dir.resolve()
        assert assembly_copy.resolve() in asset.parents  # the copy, not the shared assembly
        with (asset / "cloudfront_purge" / "resource" / "handler.py").open("a") as handler:
            handler.write(CRASH_EVERY_TIME)
        create, delete = local.deploy("first deploy")
        records = local.lambda_.destination_records
        legs = local.lambda_.invocations

    # FAILED by the on-failure answer, not TIMED_OUT at the ServiceTimeout.
    assert create.status == "FAILED", create.reason
    assert "RetriesExhausted after 3 attempts" in create.reason
    assert "Runtime.ExitError" in create.reason and "signal 9" in create.reason
    assert "deploy again" in create.reason
    # The Delete after the failed Create crashes too; the on-failure answer lets it go.
    assert delete.request_type == "Delete" and delete.status == "SUCCESS"
    assert delete.physical_id == create.physical_id
    assert not create.violations and not delete.violations
    provider_legs = [i for i in legs if i.function.name == resource.function.name]
    assert [i.attempt for i in provider_legs] == [1, 2, 3, 1, 2, 3]
    assert len({i.request_id for i in provider_legs[:3]}) == 1  # retries of one event
    assert [r["requestContext"]["condition"] for r in records] == ["RetriesExhausted"] * 2
    assert [r["requestPayload"]["RequestType"] for r in records] == ["Create", "Delete"]
    assert all(r["requestContext"]["approximateInvokeCount"] == 3 for r in records)


def test_a_lost_first_event_is_retried_and_answered(stack: LocalCloudFormation) -> None:
    ensure_deleted(stack)
    stack.lambda_.drop_invocations(stack.lambda_.async_attempts + 1)
    (create,) = stack.deploy("first event lost")
    assert create.status == "SUCCESS", create.reason
    assert len(create.invalidations) == 1 and create.duplicates == 0
    lost = [i for i in stack.lambda_.invocations if i.dropped][-1]
    legs = stack.lambda_.invocations_of(lost.request_id)
    assert [(i.attempt, i.dropped) for i in legs] == [(1, True), (2, False)]
    assert not create.lost


def test_a_duplicated_event_makes_one_invalidation_and_one_consistent_answer(
    stack: LocalCloudFormation,
) -> None:
    ensure_created(stack)
    stack.lambda_.duplicate_invocations(stack.lambda_.async_attempts + 1)
    (update,) = stack.deploy("event delivered twice", overrides={"SourceHash": "dup-1"})
    assert update.status == "SUCCESS", update.reason
    assert update.legs >= 2
    (record,) = update.invalidations  # the deterministic CallerReference held
    bodies = accepted(stack.responses.attempts(update.request_id))
    assert 1 <= len(bodies) <= 2
    answers = {
        json.dumps({k: json.loads(b)[k] for k in ("Status", "PhysicalResourceId", "Data")})
        for b in bodies
    }
    assert len(answers) == 1  # a second PUT, if any, says exactly what the first said
    assert json.loads(bodies[0])["Data"]["InvalidationId"] == record.id


def test_a_duplicated_hand_off_leg_makes_no_second_invalidation(
    stack: LocalCloudFormation,
) -> None:
    """A wait longer than one invocation hands off; the first hand-off leg (the second
    asynchronous attempt of the request) is delivered twice."""
    ensure_created(stack)
    # The long-wait scenario's sizes: each leg has time to call CloudFront on a busy machine,
    # and the wait always outlasts the first leg.
    stack.set_function_timeout(Story.long_wait_function_timeout)
    stack.cloud.set_invalidation_seconds(Story.long_invalidation_seconds)
    stack.lambda_.duplicate_invocations(stack.lambda_.async_attempts + 2)
    try:
        outcomes = stack.deploy("hand-off leg delivered twice", overrides={"SourceHash": "leg-1"})
    finally:
        stack.cloud.set_invalidation_seconds(0.5)
        stack.set_function_timeout(None)
    update = outcomes[0]
    assert update.status == "SUCCESS", update.reason
    assert len(outcomes) == 1  # no rollback followed
    legs = stack.lambda_.invocations[-update.legs :]
    assert any(i.source == "duplicate" for i in legs)  # the fault did happen
    (record,) = update.invalidations
    bodies = accepted(stack.responses.attempts(update.request_id))
    answers = {
        json.dumps({k: json.loads(b)[k] for k in ("Status", "PhysicalResourceId", "Data")})
        for b in bodies
    }
    assert len(answers) == 1
    assert json.loads(bodies[0])["Data"]["InvalidationId"] == record.id


def cloudformation(stack: LocalCloudFormation) -> Any:
    return boto3.client(
        "cloudformation",
        endpoint_url=stack.cloudformation_api.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def test_describe_stacks_follows_the_stack_through_an_update_and_its_rollback(
    stack: LocalCloudFormation,
) -> None:
    client = cloudformation(stack)
    ensure_created(stack)
    (state,) = stack._stack_states()
    seen: list[str] = []

    def watch(_progress: Progress) -> None:
        (described,) = client.describe_stacks(StackName=state.stack_id)["Stacks"]
        if not seen or seen[-1] != described["StackStatus"]:
            seen.append(described["StackStatus"])

    stack.on_progress = watch
    try:
        outcomes = stack.deploy("update, then another resource fails",
                                overrides={"SourceHash": "rollback-1"}, fail_after=True)
    finally:
        stack.on_progress = None
    assert [o.status for o in outcomes] == ["SUCCESS", "SUCCESS"]
    assert seen == ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"]
    (by_name,) = client.describe_stacks(StackName=state.stack_name)["Stacks"]
    assert by_name["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert by_name["StackId"] == state.stack_id


def test_describe_stacks_refuses_an_unknown_stack_and_can_be_made_to_fail(
    stack: LocalCloudFormation,
) -> None:
    client = cloudformation(stack)
    ensure_created(stack)
    unknown = "arn:aws:cloudformation:us-east-1:123456789012:stack/Nope/0000"
    with pytest.raises(ClientError) as missing:
        client.describe_stacks(StackName=unknown)
    assert missing.value.response["Error"]["Code"] == "ValidationError"
    assert missing.value.response["Error"]["Message"] == f"Stack with id {unknown} does not exist"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    for fault, status in (("AccessDenied", 403), ("Throttling", 400)):
        stack.describe_stacks_fault = fault  # type: ignore[assignment]
        try:
            with pytest.raises(ClientError) as failed:
                client.describe_stacks(StackName=stack.stack.stack_name)
        finally:
            stack.describe_stacks_fault = None
        assert failed.value.response["Error"]["Code"] == fault
        assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert client.describe_stacks(StackName=stack.stack.stack_name)["Stacks"]

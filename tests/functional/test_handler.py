"""The Lambda handler against the local CloudFront: what CloudFormation would see.

Invalidations stay InProgress for a while, then turn Completed, as on AWS. The handler runs
in process here; tests/e2e drives it as Lambda would, in a fresh process over HTTPS.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from cloudfront_purge.model import rules
from cloudfront_purge.resource import handler
from localcloud.cloudfront import LocalCloudFront
from tests.support.fakes import lambda_json_logs
from tests.support.handler import (
    ATTRIBUTES,
    INVALIDATION_SECONDS,
    STACK_ID,
    LambdaContext,
    Responses,
    StackStatus,
    event,
    props,
)


def stubbed_cloudformation(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    """A real botocore cloudformation client whose answers the test queues."""
    client = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.activate()
    monkeypatch.setattr(handler, "cloudformation", client)
    return stubber


def rolling_back(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    stubber = stubbed_cloudformation(monkeypatch)
    stubber.add_response(
        "describe_stacks",
        {"Stacks": [{"StackId": STACK_ID, "StackName": "site", "StackStatus": "UPDATE_ROLLBACK_IN_PROGRESS",
                     "CreationTime": "2026-01-01T00:00:00Z"}]},
        {"StackName": STACK_ID},
    )
    return stubber


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloudFront]:
    with LocalCloudFront(invalidation_seconds=INVALIDATION_SECONDS) as local:
        yield local


@pytest.fixture
def dist(cloud: LocalCloudFront) -> str:
    return cloud.create_distribution()


@pytest.fixture
def responses(cloud: LocalCloudFront, monkeypatch: pytest.MonkeyPatch) -> Responses:
    recorder = Responses()
    monkeypatch.setattr(handler, "deliver", recorder)
    monkeypatch.setattr(handler, "cloudfront", cloud.client())
    monkeypatch.setattr(handler, "cloudformation", StackStatus())
    return recorder


def test_create_answers_success_only_after_completed(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    handler.handler(event("Create", props(dist)), LambdaContext())
    body = responses.last
    assert body["Status"] == "SUCCESS", body["Reason"]
    (record,) = cloud.invalidations(dist)
    assert responses.times[-1] >= record.completes_at
    assert body["Data"]["InvalidationId"] == record.id
    assert body["Data"]["Status"] == "Completed"
    assert body["Data"]["CallerReference"] == record.caller_reference
    assert record.caller_reference.startswith("aaaa1111bbbb-")
    assert set(body) == {"Status", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId", "Reason", "Data", "NoEcho"}
    assert body["PhysicalResourceId"].startswith("Purge-")


def test_redelivered_event_makes_no_second_invalidation(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    ev = event("Create", props(dist))
    handler.handler(ev, LambdaContext())
    handler.handler(dict(ev), LambdaContext())
    assert len(cloud.invalidations(dist)) == 1
    assert responses.bodies[0]["Data"]["InvalidationId"] == responses.bodies[1]["Data"]["InvalidationId"]


def test_revert_a_b_a_purges_three_times_and_physical_id_is_stable(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    a, b = props(dist, "hashA000000000"), props(dist, "hashB000000000")
    handler.handler(event("Create", a), LambdaContext())
    pid = responses.last["PhysicalResourceId"]
    handler.handler(event("Update", b, old=a, physical_id=pid), LambdaContext())
    handler.handler(event("Update", a, old=b, physical_id=pid), LambdaContext())
    records = cloud.invalidations(dist)
    assert len(records) == 3
    assert len({r.caller_reference for r in records}) == 3
    assert [r.caller_reference[:12] for r in records] == ["hashA0000000", "hashB0000000", "hashA0000000"]
    assert {body["PhysicalResourceId"] for body in responses.bodies} == {pid}
    assert all(body["Status"] == "SUCCESS" for body in responses.bodies)


def test_rollback_update_with_swapped_properties_purges(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    a, b = props(dist, "contentA"), props(dist, "contentB")
    handler.handler(event("Create", a), LambdaContext())
    pid = responses.last["PhysicalResourceId"]
    handler.handler(event("Update", b, old=a, physical_id=pid), LambdaContext())
    # Another resource failed; CloudFormation rolls back with old and new swapped.
    handler.handler(event("Update", a, old=b, physical_id=pid), LambdaContext())
    assert len(cloud.invalidations(dist)) == 3
    assert responses.last["Status"] == "SUCCESS"


def test_delete_answers_at_once_and_purges_nothing(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    before = cloud.call_counts()
    started = time.time()
    # The real function's 15 minutes: with crhelper's default sleep_on_delete the answer would
    # wait 120 s for CloudWatch Logs; a bound far above any machine's load still tells.
    handler.handler(event("Delete", props(dist), physical_id="Purge-123"), LambdaContext(timeout=900))
    assert time.time() - started < 60
    assert responses.last["Status"] == "SUCCESS"
    assert responses.last["PhysicalResourceId"] == "Purge-123"
    assert cloud.invalidations(dist) == []
    assert cloud.call_counts() == before  # not a single CloudFront call


def test_unknown_distribution_fails_with_a_clear_reason(cloud: LocalCloudFront, responses: Responses) -> None:
    before = cloud.calls("CreateInvalidation")
    handler.handler(event("Create", props("ENOSUCHDIST")), LambdaContext())
    body = responses.last
    assert body["Status"] == "FAILED"
    assert "ENOSUCHDIST" in body["Reason"] and "NoSuchDistribution" in body["Reason"]
    assert "CreateInvalidation" in body["Reason"]
    # Terminal: one call, no retries until the deadline.
    assert cloud.calls("CreateInvalidation") == before + 1
    # A failed Create still carries a stable physical id, so the Delete that follows finds it.
    assert body["PhysicalResourceId"].startswith("Purge-")


def test_access_denied_past_the_iam_window_fails_with_a_reason_saying_what_to_grant(
    cloud: LocalCloudFront, dist: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(handler.IAM_WAIT_VARIABLE, "1.5")
    cloud.faults.deny(dist)
    started = time.time()
    try:
        with lambda_json_logs() as logs:
            handler.handler(event("Create", props(dist)), LambdaContext())
    finally:
        cloud.faults.allow(dist)
    body = responses.last
    assert body["Status"] == "FAILED"
    assert "AccessDenied" in body["Reason"] and dist in body["Reason"]
    assert "cloudfront:CreateInvalidation" in body["Reason"] and "denied for 2 s" in body["Reason"]
    # Waited out the 1.5 s window, then failed: not the purge's own deadline (600 s).
    assert 1.5 <= responses.times[-1] - started < 300
    waits = logs.events("waiting_for_iam")
    assert waits and waits[0]["level"] == "WARNING" and waits[0]["distribution"] == dist
    assert "waiting for IAM to propagate" in waits[0]["note"] and "AccessDenied" in waits[0]["problem"]
    assert cloud.invalidations(dist) == []


def test_access_denied_while_iam_propagates_is_waited_out(
    cloud: LocalCloudFront, dist: str, responses: Responses
) -> None:
    """A first deploy whose grant applies a few seconds after CloudFormation created it."""
    cloud.faults.deny(dist)
    before = cloud.calls("CreateInvalidation")

    def grant_applies() -> None:
        # Two denied tries, then the grant applies.
        bound = time.monotonic() + 30
        while cloud.calls("CreateInvalidation") < before + 2 and time.monotonic() < bound:
            time.sleep(0.05)
        cloud.faults.allow(dist)

    granter = threading.Thread(target=grant_applies)
    granter.start()
    try:
        with lambda_json_logs() as logs:
            handler.handler(event("Create", props(dist)), LambdaContext())
    finally:
        granter.join(35)
        cloud.faults.allow(dist)
    assert responses.last["Status"] == "SUCCESS", responses.last["Reason"]
    assert len(cloud.invalidations(dist)) == 1
    assert len(logs.events("waiting_for_iam")) >= 2


def test_a_bad_window_setting_fails_naming_the_variable(dist: str, responses: Responses,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(handler.IAM_WAIT_VARIABLE, "a minute")
    handler.handler(event("Create", props(dist)), LambdaContext())
    assert responses.last["Status"] == "FAILED"
    assert f"{handler.IAM_WAIT_VARIABLE} is 'a minute'; it must be a number of seconds from 0 to 600" in responses.last["Reason"]


def test_an_invalidation_not_yet_visible_after_create_is_polled_again(
    cloud: LocalCloudFront, dist: str, responses: Responses
) -> None:
    cloud.faults.on_call("GetInvalidation", 1, "NoSuchInvalidation")
    cloud.faults.on_call("GetInvalidation", 2, "NoSuchInvalidation")
    with lambda_json_logs() as logs:
        handler.handler(event("Create", props(dist)), LambdaContext())
    assert responses.last["Status"] == "SUCCESS", responses.last["Reason"]
    assert responses.last["Data"]["Status"] == "Completed"
    assert len(cloud.invalidations(dist)) == 1
    assert len(logs.events("not_visible_yet")) == 2


def test_bad_properties_fail_naming_the_property(dist: str, responses: Responses) -> None:
    handler.handler(event("Create", props(dist, Paths=["index.html"])), LambdaContext())
    assert responses.last["Status"] == "FAILED"
    assert "Paths" in responses.last["Reason"] and "'index.html' must start with '/'" in responses.last["Reason"]


def test_not_waiting_answers_once_accepted(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    cloud.set_invalidation_seconds(30)
    try:
        handler.handler(event("Create", props(dist, WaitForCompletion="false")), LambdaContext())
    finally:
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
    assert responses.last["Status"] == "SUCCESS"
    assert responses.last["Data"]["Status"] == "InProgress"
    # Answered before the invalidation completed, without a single status poll.
    (record,) = cloud.invalidations(dist)
    assert responses.times[-1] < record.completes_at
    assert cloud.get_calls(record.id) == 0


def test_invalidate_on_create_false_skips_the_first_purge(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    handler.handler(event("Create", props(dist, InvalidateOnCreate="false")), LambdaContext())
    assert responses.last["Status"] == "SUCCESS"
    assert cloud.invalidations(dist) == []
    # Every attribute is answered, so a GetAtt on any of them does not fail the deploy.
    data = responses.last["Data"]
    assert data["Status"] == "Skipped"
    assert set(data) == ATTRIBUTES
    assert data["PurgeScope"] == "none" and "InvalidateOnCreate" in data["ScopeReason"]
    assert data["PurgeConfirmed"] == "true" and data["PurgeProblem"] == ""


def test_a_wait_longer_than_the_invocation_hands_off_and_the_next_leg_answers(
    cloud: LocalCloudFront, dist: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoked: list[dict[str, Any]] = []

    class FakeLambda:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            assert kwargs["InvocationType"] == "Event"
            assert kwargs["FunctionName"].endswith(":function:provider")
            invoked.append(json.loads(kwargs["Payload"]))
            return {"StatusCode": 202}

    monkeypatch.setattr(handler.boto3, "client", lambda service, **_: FakeLambda())
    cloud.set_invalidation_seconds(4.0)
    try:
        handler.handler(event("Create", props(dist)), LambdaContext(timeout=2.5))
        assert responses.bodies == []  # handed off: this leg must not answer
        assert len(invoked) == 1
        continuation = invoked[0][handler.CONTINUATION]
        assert continuation["Leg"] == 2 and continuation["Known"]
        handler.handler(invoked[0], LambdaContext(timeout=60))
    finally:
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
    assert responses.last["Status"] == "SUCCESS"
    assert len(cloud.invalidations(dist)) == 1
    assert cloud.calls("CreateInvalidation") >= 1


def test_an_invocation_with_less_time_than_the_hand_off_margin_fails_saying_so(
    cloud: LocalCloudFront, dist: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leg that starts with no time beyond the hand-off margin could only hand off again:
    it answers FAILED naming the cause instead of chaining invocations that never purge."""

    class NoInvoke:
        def invoke(self, **_kwargs: Any) -> dict[str, Any]:
            raise AssertionError("a leg that cannot call CloudFront must not hand off")

    monkeypatch.setattr(handler.boto3, "client", lambda service, **_: NoInvoke())
    continued = event("Create", props(dist))
    continued[handler.CONTINUATION] = {"Leg": 3, "Known": {"ref": "I2EXAMPLE"}}
    handler.handler(continued, LambdaContext(timeout=1.5))
    reason = responses.last["Reason"]
    assert responses.last["Status"] == "FAILED"
    assert "longer timeout" in reason and "I2EXAMPLE" in reason
    assert cloud.invalidations(dist) == []


def test_logs_keep_their_fields_in_lambdas_json_format_and_never_the_response_url(
    cloud: LocalCloudFront, dist: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs the formatter Lambda runs for logging_format JSON (awslambdaric's) over a success,
    a failure and a rollback, and reads the lines as CloudWatch Logs would get them."""
    with lambda_json_logs() as logs:
        handler.handler(event("Create", props(dist)), LambdaContext())
        handler.handler(event("Create", props("ENOPE")), LambdaContext())
        rolling_back(monkeypatch)
        handler.handler(event("Update", props("EGONE", "other"), old=props(dist), physical_id="Purge-1"), LambdaContext())
    text = "".join(logs.lines)
    assert "s3cr3t-sig" not in text and "cfn-responses.example" not in text
    (purge,) = [r for r in logs.events("purge") if r["distributions"] == [dist]]
    assert purge["request_type"] == "Create" and purge["paths"] == 1 and purge["rollback"] is False
    (submitted,) = [r for r in logs.events("submitted") if r["distribution"] == dist]
    assert submitted["invalidation"] and "next_check_in_s" in submitted and submitted["logger"] == "cloudfront_purge.resource.handler"
    (completed,) = logs.events("completed")
    assert completed["waited_s"] > 0 and completed["purge_status"] == "Completed"
    (done,) = logs.events("done")
    assert done["invalidations"] == [submitted["invalidation"]]
    (failed,) = [r for r in logs.events("failed") if r["distribution"] == "ENOPE"]
    assert "NoSuchDistribution" in failed["error"]
    (unconfirmed,) = logs.events("rollback_purge_unconfirmed")
    assert unconfirmed["level"] == "WARNING" and unconfirmed["submitted"] is False
    assert "NoSuchDistribution" in unconfirmed["problem"] and "-d EGONE" in unconfirmed["advice"]


def test_several_distributions_purge_in_parallel_and_one_failing_names_itself(
    cloud: LocalCloudFront, responses: Responses
) -> None:
    d1, d2 = cloud.create_distribution(), cloud.create_distribution()
    cloud.set_invalidation_seconds(1.5)
    try:
        handler.handler(event("Create", {"DistributionIds": [d1, "EGONE00000", d2], "Paths": ["/*"],
                                         "SourceHash": "multi"}), LambdaContext())
    finally:
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
    body = responses.last
    assert body["Status"] == "FAILED"
    assert "EGONE00000" in body["Reason"] and "NoSuchDistribution" in body["Reason"]
    assert d1 not in body["Reason"].split("(completed:")[0]
    # The healthy two were both purged, in parallel (one wait, not two), and waited on.
    (r1,), (r2,) = cloud.invalidations(d1), cloud.invalidations(d2)
    # Each was created before the other completed: one wait, not two in a row.
    assert r1.create_time < r2.completes_at and r2.create_time < r1.completes_at
    assert responses.times[-1] >= max(r1.completes_at, r2.completes_at)


def test_more_paths_than_the_in_progress_limit_are_batched_and_all_complete(
    cloud: LocalCloudFront, dist: str, responses: Responses
) -> None:
    paths = [f"/assets/file-{i}.js" for i in range(6500)] + ["/assets/file-1.js"]
    handler.handler(event("Create", props(dist, Paths=paths)), LambdaContext())
    body = responses.last
    assert body["Status"] == "SUCCESS", body["Reason"]
    records = sorted(cloud.invalidations(dist), key=lambda r: r.create_time)
    assert [len(r.paths) for r in records] == [3000, 3000, 500]
    assert body["Data"]["InvalidationCount"] == "3" and body["Data"]["PathCount"] == "6500"
    # Never more than 3,000 files in progress: each batch was submitted after the previous ended.
    for earlier, later in itertools.pairwise(records):
        assert later.create_time >= earlier.completes_at
    assert len({r.caller_reference for r in records}) == 3


# --- rollbacks -------------------------------------------------------------------------------


def test_an_update_asks_the_stack_status_once_and_answers_every_attribute(
    cloud: LocalCloudFront, dist: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stubbed_cloudformation(monkeypatch)
    stubber.add_response("describe_stacks", {"Stacks": [{"StackId": STACK_ID, "StackName": "site",
                         "StackStatus": "UPDATE_IN_PROGRESS", "CreationTime": "2026-01-01T00:00:00Z"}]},
                         {"StackName": STACK_ID})
    handler.handler(event("Update", props(dist, "b"), old=props(dist), physical_id="Purge-1"), LambdaContext())
    stubber.assert_no_pending_responses()
    body = responses.last
    assert body["Status"] == "SUCCESS" and set(body["Data"]) == ATTRIBUTES
    assert (body["Data"]["PurgeConfirmed"], body["Data"]["PurgeProblem"]) == ("true", "")


def test_a_rollback_whose_purge_times_out_still_succeeds_saying_so(
    cloud: LocalCloudFront, dist: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = rolling_back(monkeypatch)
    cloud.set_invalidation_seconds(30)
    try:
        with lambda_json_logs() as logs:
            handler.handler(event("Update", props(dist, "a", TimeoutSeconds="1"), old=props(dist, "b"),
                                  physical_id="Purge-1"), LambdaContext())
    finally:
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
    stubber.assert_no_pending_responses()
    body = responses.last
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == "Purge-1"
    data = body["Data"]
    assert set(data) == ATTRIBUTES
    (record,) = cloud.invalidations(dist)  # submitted: the purge was asked for
    assert data["PurgeConfirmed"] == "false" and data["Status"] == "Unconfirmed"
    assert "timed out after 1 s" in data["PurgeProblem"] and data["InvalidationId"] == record.id
    assert body["Reason"].startswith("rollback: answered SUCCESS")
    (logged,) = logs.events("rollback_purge_unconfirmed")
    assert logged["submitted"] is True and logged["invalidations"] == [record.id]


def test_a_rollback_to_a_deleted_distribution_succeeds_without_a_purge(
    cloud: LocalCloudFront, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    rolling_back(monkeypatch)
    before = cloud.calls("CreateInvalidation")
    handler.handler(event("Update", props("EDELETED0"), old=props("ENEW0"), physical_id="Purge-1"), LambdaContext())
    body = responses.last
    assert body["Status"] == "SUCCESS"
    assert body["Data"]["PurgeConfirmed"] == "false" and "NoSuchDistribution" in body["Data"]["PurgeProblem"]
    assert body["Data"]["InvalidationCount"] == "0" and body["Data"]["DistributionIds"] == "EDELETED0"
    # Terminal at once: one call, not retried until the purge's deadline.
    assert cloud.calls("CreateInvalidation") == before + 1


def test_when_the_stack_status_cannot_be_read_an_update_fails_as_usual(
    cloud: LocalCloudFront, dist: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stubbed_cloudformation(monkeypatch)
    stubber.add_client_error("describe_stacks", "AccessDenied", "not authorized to perform: cloudformation:DescribeStacks",
                             403, expected_params={"StackName": STACK_ID})
    with lambda_json_logs() as logs:
        handler.handler(event("Update", props("EGONE0"), old=props(dist), physical_id="Purge-1"), LambdaContext())
    assert responses.last["Status"] == "FAILED" and "NoSuchDistribution" in responses.last["Reason"]
    (unknown,) = logs.events("stack_status_unknown")
    assert "AccessDenied" in unknown["problem"] and "grant_rollback_detection" in unknown["advice"]


def test_a_rollback_hand_off_carries_the_decision_and_the_iam_clock(
    cloud: LocalCloudFront, dist: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoked: list[dict[str, Any]] = []

    class FakeLambda:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            invoked.append(json.loads(kwargs["Payload"]))
            return {"StatusCode": 202}

    rolling_back(monkeypatch)
    monkeypatch.setattr(handler.boto3, "client", lambda service, **_: FakeLambda())
    cloud.set_invalidation_seconds(4.0)
    try:
        handler.handler(event("Update", props(dist, "a", TimeoutSeconds="5"), old=props(dist, "b"),
                              physical_id="Purge-1"), LambdaContext(timeout=2.5))
        assert responses.bodies == [] and len(invoked) == 1
        continuation = invoked[0][handler.CONTINUATION]
        assert continuation["Rollback"] is True and set(continuation["FirstCalls"]) == {dist}
        # The next leg never asks again: the stack may have moved on by then.
        status = StackStatus("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        monkeypatch.setattr(handler, "cloudformation", status)
        with lambda_json_logs() as logs:
            handler.handler(invoked[0], LambdaContext(timeout=60))
    finally:
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
    assert status.calls == []
    (leg2,) = logs.events("purge")
    assert leg2["leg"] == 2 and leg2["rollback"] is True
    assert responses.last["Status"] == "SUCCESS" and responses.last["Data"]["PurgeConfirmed"] == "true"
    assert len(cloud.invalidations(dist)) == 1


def test_a_rollback_whose_cloudfront_call_hangs_still_succeeds_when_time_runs_out(
    dist: str, responses: Responses, monkeypatch: pytest.MonkeyPatch, cloud: LocalCloudFront
) -> None:
    release = threading.Event()
    real = cloud.client()

    class Hangs:
        def create_invalidation(self, **kwargs: Any) -> Any:
            release.wait(20)
            return real.create_invalidation(**kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    rolling_back(monkeypatch)
    monkeypatch.setattr(handler, "cloudfront", Hangs())
    worker = threading.Thread(target=handler.handler, args=(
        event("Update", props(dist, "a"), old=props(dist, "b"), physical_id="Purge-1"), LambdaContext(timeout=3.0)))
    worker.start()
    bound = time.monotonic() + 20
    while not responses.bodies and time.monotonic() < bound:
        time.sleep(0.05)
    release.set()
    worker.join(30)
    (body,) = responses.bodies
    assert body["Status"] == "SUCCESS" and set(body["Data"]) == ATTRIBUTES
    assert "ran out of time" in body["Data"]["PurgeProblem"]


def test_the_windows_default_to_the_engines_constants_and_follow_the_environment() -> None:
    from cloudfront_purge import engine

    default = handler.timing({})
    assert (default.iam_wait, default.not_found_wait) == (engine.IAM_PROPAGATION_WINDOW_SECONDS,
                                                          engine.NEW_INVALIDATION_VISIBILITY_SECONDS)
    set_ = handler.timing({handler.IAM_WAIT_VARIABLE: "120", handler.NOT_FOUND_WAIT_VARIABLE: "0"})
    assert (set_.iam_wait, set_.not_found_wait) == (120.0, 0.0)
    with pytest.raises(rules.RuleError, match=f"{handler.NOT_FOUND_WAIT_VARIABLE} is '601'"):
        handler.timing({handler.NOT_FOUND_WAIT_VARIABLE: "601"})


def test_an_invalidation_that_never_appears_fails_after_the_window_saying_what_to_check(
    cloud: LocalCloudFront, dist: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(handler.NOT_FOUND_WAIT_VARIABLE, "1")
    cloud.faults.rate("GetInvalidation", "NoSuchInvalidation", 1.0)
    try:
        handler.handler(event("Create", props(dist)), LambdaContext())
    finally:
        cloud.faults.clear()
    body = responses.last
    assert body["Status"] == "FAILED"
    assert f"distribution {dist}: GetInvalidation failed with NoSuchInvalidation" in body["Reason"]
    assert "cloudfront-invalidate list/show" in body["Reason"]
    assert len(cloud.invalidations(dist)) == 1


def test_only_in_rollback_purges_nothing_on_a_deploy_and_purges_in_the_rollback(
    cloud: LocalCloudFront, dist: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rollback-only purge of SafeSiteDeployment: a Create and a normal Update answer at
    once, Skipped; the stack's rollback (DescribeStacks: UPDATE_ROLLBACK_IN_PROGRESS) purges."""
    a = props(dist, "rollonlyA0000000", OnlyInRollback="true")
    b = props(dist, "rollonlyB0000000", OnlyInRollback="true")
    handler.handler(event("Create", a), LambdaContext())
    pid = responses.last["PhysicalResourceId"]
    handler.handler(event("Update", b, old=a, physical_id=pid), LambdaContext())
    assert [body["Data"]["Status"] for body in responses.bodies] == ["Skipped", "Skipped"]
    assert cloud.invalidations(dist) == []
    monkeypatch.setattr(handler, "cloudformation", StackStatus("UPDATE_ROLLBACK_IN_PROGRESS"))
    handler.handler(event("Update", a, old=b, physical_id=pid), LambdaContext())
    body = responses.last
    assert body["Status"] == "SUCCESS" and body["Data"]["Status"] == "Completed"
    (record,) = cloud.invalidations(dist)
    assert record.caller_reference.startswith("rollonlyA000-")
    assert responses.times[-1] >= record.completes_at


def test_only_in_rollback_must_be_a_boolean(dist: str, responses: Responses) -> None:
    handler.handler(event("Create", props(dist, OnlyInRollback="sometimes")), LambdaContext())
    assert responses.last["Status"] == "FAILED"
    assert "OnlyInRollback must be true or false" in responses.last["Reason"]

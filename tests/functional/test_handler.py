"""The Lambda handler against the local CloudFront: what CloudFormation would see.

Invalidations stay InProgress for a while, then turn Completed, as on AWS. The handler runs
in process here; tests/e2e drives it as Lambda would, in a fresh process over HTTPS.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cloudfront_purge import handler
from localcloud.cloudfront import LocalCloudFront

SECRET_URL = "https://cfn-responses.example/stack/resource?X-Amz-Signature=s3cr3t-sig"
INVALIDATION_SECONDS = 0.6


class Context:
    """Lambda's context: remaining time counts down from the function's timeout."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.deadline = time.monotonic() + timeout
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "provider"
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:provider"

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


class Responses:
    """Stands in for the ResponseURL: records each body and when it arrived."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.times: list[float] = []

    def __call__(self, url: str, body: dict[str, Any], _ssl: object = None) -> bool:
        assert url == SECRET_URL
        payload = json.dumps(body)
        assert len(payload.encode()) <= 4096
        self.bodies.append(json.loads(payload))
        self.times.append(time.time())
        return True

    @property
    def last(self) -> dict[str, Any]:
        return self.bodies[-1]


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
    return recorder


def event(request_type: str, props: dict[str, Any], *, old: dict[str, Any] | None = None,
          physical_id: str | None = None, request_id: str | None = None) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": SECRET_URL,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/site/abc",
        "RequestId": request_id or str(uuid.uuid4()),
        "ResourceType": "Custom::CloudFrontInvalidation",
        "LogicalResourceId": "Purge",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider", **props},
    }
    if old is not None:
        ev["OldResourceProperties"] = old
    if physical_id is not None:
        ev["PhysicalResourceId"] = physical_id
    return ev


def props(dist: str, source_hash: str = "aaaa1111bbbb2222", **extra: Any) -> dict[str, Any]:
    return {"DistributionIds": [dist], "Paths": ["/*"], "SourceHash": source_hash, **extra}


def test_create_answers_success_only_after_completed(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    handler.handler(event("Create", props(dist)), Context())
    body = responses.last
    assert body["Status"] == "SUCCESS", body["Reason"]
    (record,) = cloud.invalidations(dist)
    assert responses.times[-1] >= record.completes_at
    assert responses.times[-1] - record.completes_at < 1.5
    assert body["Data"]["InvalidationId"] == record.id
    assert body["Data"]["Status"] == "Completed"
    assert body["Data"]["CallerReference"] == record.caller_reference
    assert record.caller_reference.startswith("aaaa1111bbbb-")
    assert set(body) == {"Status", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId", "Reason", "Data", "NoEcho"}
    assert body["PhysicalResourceId"].startswith("Purge-")


def test_redelivered_event_makes_no_second_invalidation(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    ev = event("Create", props(dist))
    handler.handler(ev, Context())
    handler.handler(dict(ev), Context())
    assert len(cloud.invalidations(dist)) == 1
    assert responses.bodies[0]["Data"]["InvalidationId"] == responses.bodies[1]["Data"]["InvalidationId"]


def test_revert_a_b_a_purges_three_times_and_physical_id_is_stable(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    a, b = props(dist, "hashA000000000"), props(dist, "hashB000000000")
    handler.handler(event("Create", a), Context())
    pid = responses.last["PhysicalResourceId"]
    handler.handler(event("Update", b, old=a, physical_id=pid), Context())
    handler.handler(event("Update", a, old=b, physical_id=pid), Context())
    records = cloud.invalidations(dist)
    assert len(records) == 3
    assert len({r.caller_reference for r in records}) == 3
    assert [r.caller_reference[:12] for r in records] == ["hashA0000000", "hashB0000000", "hashA0000000"]
    assert {body["PhysicalResourceId"] for body in responses.bodies} == {pid}
    assert all(body["Status"] == "SUCCESS" for body in responses.bodies)


def test_rollback_update_with_swapped_properties_purges(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    a, b = props(dist, "contentA"), props(dist, "contentB")
    handler.handler(event("Create", a), Context())
    pid = responses.last["PhysicalResourceId"]
    handler.handler(event("Update", b, old=a, physical_id=pid), Context())
    # Another resource failed; CloudFormation rolls back with old and new swapped.
    handler.handler(event("Update", a, old=b, physical_id=pid), Context())
    assert len(cloud.invalidations(dist)) == 3
    assert responses.last["Status"] == "SUCCESS"


def test_delete_answers_at_once_and_purges_nothing(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    started = time.time()
    handler.handler(event("Delete", props(dist), physical_id="Purge-123"), Context())
    assert time.time() - started < 0.5
    assert responses.last["Status"] == "SUCCESS"
    assert responses.last["PhysicalResourceId"] == "Purge-123"
    assert cloud.invalidations(dist) == []


def test_unknown_distribution_fails_with_a_clear_reason(responses: Responses) -> None:
    started = time.time()
    handler.handler(event("Create", props("ENOSUCHDIST")), Context())
    body = responses.last
    assert body["Status"] == "FAILED"
    assert "ENOSUCHDIST" in body["Reason"] and "NoSuchDistribution" in body["Reason"]
    assert "CreateInvalidation" in body["Reason"]
    assert time.time() - started < 2
    # A failed Create still carries a stable physical id, so the Delete that follows finds it.
    assert body["PhysicalResourceId"].startswith("Purge-")


def test_access_denied_fails_with_a_reason_saying_what_to_grant(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    cloud.faults.deny(dist)
    try:
        handler.handler(event("Create", props(dist)), Context())
    finally:
        cloud.faults.allow(dist)
    body = responses.last
    assert body["Status"] == "FAILED"
    assert "AccessDenied" in body["Reason"] and dist in body["Reason"]
    assert "cloudfront:CreateInvalidation" in body["Reason"]


def test_bad_properties_fail_naming_the_property(dist: str, responses: Responses) -> None:
    handler.handler(event("Create", props(dist, Paths=["index.html"])), Context())
    assert responses.last["Status"] == "FAILED"
    assert "Paths" in responses.last["Reason"] and "'index.html' must start with '/'" in responses.last["Reason"]


def test_not_waiting_answers_once_accepted(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    cloud.set_invalidation_seconds(30)
    try:
        started = time.time()
        handler.handler(event("Create", props(dist, WaitForCompletion="false")), Context())
    finally:
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
    assert responses.last["Status"] == "SUCCESS"
    assert responses.last["Data"]["Status"] == "InProgress"
    assert time.time() - started < 2


def test_invalidate_on_create_false_skips_the_first_purge(cloud: LocalCloudFront, dist: str, responses: Responses) -> None:
    handler.handler(event("Create", props(dist, InvalidateOnCreate="false")), Context())
    assert responses.last["Status"] == "SUCCESS"
    assert cloud.invalidations(dist) == []
    # Every attribute is answered, so a GetAtt on any of them does not fail the deploy.
    data = responses.last["Data"]
    assert data["Status"] == "Skipped"
    assert {"InvalidationId", "InvalidationIds", "CallerReference", "DistributionIds",
            "InvalidationCount", "PathCount"} <= set(data)


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
        handler.handler(event("Create", props(dist)), Context(timeout=2.5))
        assert responses.bodies == []  # handed off: this leg must not answer
        assert len(invoked) == 1
        continuation = invoked[0][handler.CONTINUATION]
        assert continuation["Leg"] == 2 and continuation["Known"]
        handler.handler(invoked[0], Context(timeout=60))
    finally:
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
    assert responses.last["Status"] == "SUCCESS"
    assert len(cloud.invalidations(dist)) == 1
    assert cloud.calls("CreateInvalidation") >= 1


def test_response_url_never_reaches_the_logs(cloud: LocalCloudFront, dist: str, responses: Responses,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    handler.handler(event("Create", props(dist)), Context())
    handler.handler(event("Create", props("ENOPE")), Context())
    text = caplog.text + json.dumps([r.msg for r in caplog.records], default=str)
    assert "s3cr3t-sig" not in text and "cfn-responses.example" not in text
    # ...while the logs do say what is waited on and for how long.
    events = {r.msg["event"]: r.msg for r in caplog.records if isinstance(r.msg, dict)}
    assert "next_check_in_s" in events["submitted"] and events["submitted"]["invalidation"]
    assert events["completed"]["waited_s"] > 0


def test_several_distributions_purge_in_parallel_and_one_failing_names_itself(
    cloud: LocalCloudFront, responses: Responses
) -> None:
    d1, d2 = cloud.create_distribution(), cloud.create_distribution()
    cloud.set_invalidation_seconds(1.5)
    try:
        started = time.time()
        handler.handler(event("Create", {"DistributionIds": [d1, "EGONE00000", d2], "Paths": ["/*"],
                                         "SourceHash": "multi"}), Context())
    finally:
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
    body = responses.last
    assert body["Status"] == "FAILED"
    assert "EGONE00000" in body["Reason"] and "NoSuchDistribution" in body["Reason"]
    assert d1 not in body["Reason"].split("(completed:")[0]
    # The healthy two were both purged, in parallel (one wait, not two), and waited on.
    (r1,), (r2,) = cloud.invalidations(d1), cloud.invalidations(d2)
    assert abs(r1.create_time - r2.create_time) < 0.5
    assert responses.times[-1] >= max(r1.completes_at, r2.completes_at)
    assert responses.times[-1] - started < 1.5 * 2


def test_more_paths_than_the_in_progress_limit_are_batched_and_all_complete(
    cloud: LocalCloudFront, dist: str, responses: Responses
) -> None:
    paths = [f"/assets/file-{i}.js" for i in range(6500)] + ["/assets/file-1.js"]
    handler.handler(event("Create", props(dist, Paths=paths)), Context())
    body = responses.last
    assert body["Status"] == "SUCCESS", body["Reason"]
    records = sorted(cloud.invalidations(dist), key=lambda r: r.create_time)
    assert [len(r.paths) for r in records] == [3000, 3000, 500]
    assert body["Data"]["InvalidationCount"] == "3" and body["Data"]["PathCount"] == "6500"
    # Never more than 3,000 files in progress: each batch was submitted after the previous ended.
    for earlier, later in itertools.pairwise(records):
        assert later.create_time >= earlier.completes_at
    assert len({r.caller_reference for r in records}) == 3

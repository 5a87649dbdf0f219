"""Cache-tag items and distribution tenants through the handler, against the local CloudFront.

What CloudFormation would see: SUCCESS only once every tenant's invalidation is Completed,
the same CallerReference guarantees as for distributions, and a FAILED Reason that names
the tenant or the tag item at fault.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cloudfront_purge import engine
from cloudfront_purge.model import rules
from cloudfront_purge.resource import handler
from localcloud.cloudfront import LocalCloudFront
from tests.support.fakes import lambda_json_logs
from tests.support.handler import (
    ATTRIBUTES,
    INVALIDATION_SECONDS,
    LambdaContext,
    Responses,
    StackStatus,
    event,
)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloudFront]:
    with LocalCloudFront(invalidation_seconds=INVALIDATION_SECONDS) as local:
        yield local


@pytest.fixture
def responses(cloud: LocalCloudFront, monkeypatch: pytest.MonkeyPatch) -> Iterator[Responses]:
    recorder = Responses()
    monkeypatch.setattr(handler, "deliver", recorder)
    monkeypatch.setattr(handler, "cloudfront", cloud.client())
    monkeypatch.setattr(handler, "cloudformation", StackStatus())
    yield recorder
    cloud.faults.clear()


@pytest.fixture
def tagged(cloud: LocalCloudFront) -> str:
    return cloud.create_distribution("tagged", cache_tag_header="x-amz-meta-cache-tag")


@pytest.fixture
def tenant(cloud: LocalCloudFront) -> str:
    return cloud.create_distribution_tenant(cache_tag_header="x-amz-meta-cache-tag")


def tenant_props(*tenants: str, **extra: object) -> dict[str, object]:
    return {"DistributionTenantIds": list(tenants), "Paths": ["/*"], "SourceHash": "tenant0hash1", **extra}


# --- cache tags ------------------------------------------------------------------------------


def test_tag_items_purge_unencoded_deduplicated_and_never_covered_by_a_wildcard(
    cloud: LocalCloudFront, tagged: str, responses: Responses
) -> None:
    paths = ["#Release:42", "/index.html", "#release:42", "/*", "#product:tv"]
    handler.handler(event("Create", {"DistributionIds": [tagged], "Paths": paths, "SourceHash": "tags1"}), LambdaContext())
    body = responses.last
    assert body["Status"] == "SUCCESS", body["Reason"]
    (record,) = cloud.invalidations(tagged)
    # The wildcard covers /index.html but no tag; the second spelling of a tag is dropped.
    assert sorted(record.paths) == sorted(["/*", "#Release:42", "#product:tv"])
    assert record.status() == "Completed"
    assert body["Data"]["PathCount"] == "3" and body["Data"]["Status"] == "Completed"
    assert set(body["Data"]) == ATTRIBUTES


def test_a_malformed_tag_fails_naming_the_item_and_purges_nothing(
    cloud: LocalCloudFront, tagged: str, responses: Responses
) -> None:
    handler.handler(event("Create", {"DistributionIds": [tagged], "Paths": ["/a", "#on sale"], "SourceHash": "t"}),
                    LambdaContext())
    body = responses.last
    assert body["Status"] == "FAILED"
    assert "Paths: tag item '#on sale' contains ' '" in body["Reason"]
    assert cloud.invalidations(tagged) == []


def test_tags_on_a_distribution_without_cache_tag_config_fail_with_cloudfronts_error(
    cloud: LocalCloudFront, responses: Responses
) -> None:
    plain = cloud.create_distribution("no tags")
    handler.handler(event("Create", {"DistributionIds": [plain], "Paths": ["#release"], "SourceHash": "t"}), LambdaContext())
    body = responses.last
    assert body["Status"] == "FAILED"
    assert f"distribution {plain}" in body["Reason"] and "InvalidArgument" in body["Reason"]
    assert "#tag items need a distribution with a CacheTagConfig" in body["Reason"]
    assert cloud.invalidations(plain) == []


def test_tags_count_against_the_individual_items_in_progress(cloud: LocalCloudFront, tagged: str) -> None:
    """A batch of tags waits for capacity like a batch of files would."""
    cloud.max_files_in_progress = 5
    client = cloud.client()
    try:
        # Long enough to be still in progress on a loaded machine when ours is first tried.
        cloud.set_invalidation_seconds(3.0)
        foreign = client.create_invalidation(DistributionId=tagged, InvalidationBatch={
            "CallerReference": "someone-else", "Paths": {"Quantity": 3, "Items": ["#a", "#b", "#c"]}})
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
        spec = rules.parse_properties({"DistributionIds": [tagged], "Paths": ["#d", "#e", "#f"], "SourceHash": "cap"})
        events: list[str] = []
        result = engine.purge(client, engine.plan_jobs(spec, request_id="r1"), deadline=time.time() + 60,
                              timeout_seconds=60, timing=engine.Timing(scale=0.05), rng=random.Random(1),
                              report=lambda kind, _job: events.append(kind))
    finally:
        cloud.max_files_in_progress = 3000
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
    assert result.status == "Completed"
    ours = next(r for r in cloud.invalidations(tagged) if r.caller_reference != "someone-else")
    first = next(r for r in cloud.invalidations(tagged) if r.id == foreign["Invalidation"]["Id"])
    assert "blocked" in events
    # 3 + 3 tags exceed 5 in progress: ours went in only after the other one completed.
    assert ours.create_time >= first.completes_at


# --- distribution tenants --------------------------------------------------------------------


def test_a_tenant_is_purged_and_waited_on_and_named_in_the_attributes(
    cloud: LocalCloudFront, tenant: str, responses: Responses
) -> None:
    handler.handler(event("Create", tenant_props(tenant, Paths=["/*", "#release"])), LambdaContext())
    body = responses.last
    assert body["Status"] == "SUCCESS", body["Reason"]
    (record,) = cloud.invalidations(tenant_id=tenant)
    assert record.tenant_id == tenant
    assert responses.times[-1] >= record.completes_at
    data = body["Data"]
    assert set(data) == ATTRIBUTES
    assert data["DistributionTenantIds"] == tenant and data["DistributionIds"] == ""
    assert data["InvalidationId"] == record.id and data["CallerReference"] == record.caller_reference
    assert data["Status"] == "Completed"


def test_a_redelivered_tenant_event_makes_no_second_invalidation_and_the_reference_is_the_tenants_own(
    cloud: LocalCloudFront, tenant: str, responses: Responses
) -> None:
    ev = event("Create", tenant_props(tenant))
    handler.handler(ev, LambdaContext())
    handler.handler(dict(ev), LambdaContext())
    (record,) = cloud.invalidations(tenant_id=tenant)
    assert responses.bodies[0]["Data"]["InvalidationId"] == responses.bodies[1]["Data"]["InvalidationId"] == record.id
    as_distribution = rules.caller_reference(source_hash="tenant0hash1", request_id=ev["RequestId"],
                                             distribution_id=tenant, batch=rules.Batch(0, ("/*",)))
    assert record.caller_reference != as_distribution


def test_tenants_and_a_distribution_purge_in_parallel_and_an_unknown_tenant_fails_naming_itself(
    cloud: LocalCloudFront, tenant: str, responses: Responses
) -> None:
    other = cloud.create_distribution_tenant(cloud.tenants()[0].distribution_id)
    dist = cloud.create_distribution()
    cloud.set_invalidation_seconds(1.5)
    try:
        started = time.time()
        handler.handler(event("Create", {"DistributionIds": [dist], "DistributionTenantIds": [tenant, "dt_gone0000", other],
                                         "Paths": ["/*"], "SourceHash": "multi"}), LambdaContext())
    finally:
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
    body = responses.last
    assert body["Status"] == "FAILED"
    reason = body["Reason"]
    assert "distribution tenant dt_gone0000" in reason and "EntityNotFound" in reason
    assert "check the distribution tenant id" in reason
    # The healthy targets were purged together and waited on before the answer.
    (r1,), (r2,), (r3,) = (cloud.invalidations(tenant_id=tenant), cloud.invalidations(tenant_id=other),
                           cloud.invalidations(dist))
    # All three were submitted before any completed: together, not one after another.
    assert max(r.create_time for r in (r1, r2, r3)) < min(r.completes_at for r in (r1, r2, r3))
    assert responses.times[-1] >= max(r.completes_at for r in (r1, r2, r3))
    # One after another would take at least 3 x the 2 s first look; together, one look.
    assert responses.times[-1] - started < 5.0


def test_access_denied_on_a_tenant_is_waited_out_while_iam_propagates(
    cloud: LocalCloudFront, tenant: str, responses: Responses
) -> None:
    cloud.faults.iam_lag(tenant, seconds=1.0)
    with lambda_json_logs() as logs:
        handler.handler(event("Create", tenant_props(tenant)), LambdaContext())
    assert responses.last["Status"] == "SUCCESS", responses.last["Reason"]
    assert len(cloud.invalidations(tenant_id=tenant)) == 1
    waits = logs.events("waiting_for_iam")
    assert waits and waits[0]["distribution"] == tenant and waits[0]["tenant"] is True


def test_access_denied_on_a_tenant_past_the_window_says_which_actions_to_grant(
    cloud: LocalCloudFront, tenant: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(handler.IAM_WAIT_VARIABLE, "1")
    cloud.faults.deny(tenant)
    handler.handler(event("Create", tenant_props(tenant)), LambdaContext())
    reason = responses.last["Reason"]
    assert responses.last["Status"] == "FAILED"
    assert f"distribution tenant {tenant}" in reason and "AccessDenied" in reason
    assert "cloudfront:CreateInvalidationForDistributionTenant" in reason
    assert cloud.invalidations(tenant_id=tenant) == []


def test_a_lost_create_answer_on_a_tenant_adopts_the_invalidation_it_made(
    cloud: LocalCloudFront, tenant: str, responses: Responses
) -> None:
    """CloudFront made the invalidation but the answer was lost; the retry's reused reference
    is refused, and the handler finds its own invalidation by listing the tenant's."""
    cloud.faults.on_call("CreateInvalidationForDistributionTenant", 1, "ServiceUnavailable", after=True)
    cloud.reused_reference_error = True
    try:
        with lambda_json_logs() as logs:
            handler.handler(event("Create", tenant_props(tenant)), LambdaContext())
    finally:
        cloud.reused_reference_error = False
    body = responses.last
    assert body["Status"] == "SUCCESS", body["Reason"]
    (record,) = cloud.invalidations(tenant_id=tenant)
    assert body["Data"]["InvalidationId"] == record.id
    assert logs.events("resumed")
    assert cloud.calls("ListInvalidationsForDistributionTenant") >= 1


def test_a_tenant_invalidation_not_yet_readable_is_polled_again(
    cloud: LocalCloudFront, tenant: str, responses: Responses
) -> None:
    cloud.faults.read_lag(1.0, tenant)
    handler.handler(event("Create", tenant_props(tenant)), LambdaContext())
    assert responses.last["Status"] == "SUCCESS", responses.last["Reason"]
    assert len(cloud.invalidations(tenant_id=tenant)) == 1


def test_a_rollback_on_a_tenant_purges_and_succeeds(
    cloud: LocalCloudFront, tenant: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handler, "cloudformation", StackStatus("UPDATE_ROLLBACK_IN_PROGRESS"))
    old = tenant_props(tenant, SourceHash="new")
    new = tenant_props(tenant, SourceHash="old")
    physical = rules.physical_resource_id(stack_id=event("Create", new)["StackId"], logical_id="Purge",
                                          distribution_ids=[], distribution_tenant_ids=[tenant])
    handler.handler(event("Update", new, old=old, physical_id=physical), LambdaContext())
    body = responses.last
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == physical
    assert body["Data"]["PurgeConfirmed"] == "true" and body["Data"]["DistributionTenantIds"] == tenant
    assert len(cloud.invalidations(tenant_id=tenant)) == 1


def test_adding_a_tenant_changes_the_physical_id(cloud: LocalCloudFront, tenant: str, responses: Responses) -> None:
    dist = cloud.create_distribution()
    handler.handler(event("Create", {"DistributionIds": [dist], "Paths": ["/*"], "SourceHash": "a"}), LambdaContext())
    first = responses.last["PhysicalResourceId"]
    handler.handler(event("Create", {"DistributionIds": [dist], "DistributionTenantIds": [tenant], "Paths": ["/*"],
                                     "SourceHash": "a"}), LambdaContext())
    assert responses.last["Status"] == "SUCCESS"
    assert responses.last["PhysicalResourceId"] != first


def test_a_tenant_wait_longer_than_the_invocation_hands_off_and_resumes_the_same_invalidation(
    cloud: LocalCloudFront, tenant: str, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoked: list[dict[str, Any]] = []

    class FakeLambda:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            invoked.append(json.loads(kwargs["Payload"]))
            return {"StatusCode": 202}

    monkeypatch.setattr(handler.boto3, "client", lambda service, **_: FakeLambda())
    cloud.set_invalidation_seconds(4.0)
    try:
        handler.handler(event("Create", tenant_props(tenant)), LambdaContext(timeout=2.5))
        assert responses.bodies == [] and len(invoked) == 1
        assert invoked[0][handler.CONTINUATION]["Known"]
        creates = cloud.calls("CreateInvalidationForDistributionTenant")
        handler.handler(invoked[0], LambdaContext(timeout=60))
    finally:
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
    assert responses.last["Status"] == "SUCCESS", responses.last["Reason"]
    (record,) = cloud.invalidations(tenant_id=tenant)
    assert responses.last["Data"]["InvalidationId"] == record.id
    # The next leg polled the invalidation the first leg made; it created nothing.
    assert cloud.calls("CreateInvalidationForDistributionTenant") == creates


def test_a_multi_tenant_distribution_given_as_a_distribution_fails_pointing_at_its_tenants(
    cloud: LocalCloudFront, tenant: str, responses: Responses
) -> None:
    parent = cloud.tenants()[0].distribution_id
    handler.handler(event("Create", {"DistributionIds": [parent], "Paths": ["/*"], "SourceHash": "t"}), LambdaContext())
    reason = responses.last["Reason"]
    assert responses.last["Status"] == "FAILED"
    assert "NoSuchDistribution" in reason and "purged through its tenants (DistributionTenantIds)" in reason

"""The handler's prune against the local cloud: CloudFront and moto's S3 on one server.

The site bucket holds what a BucketDeployment (prune=False) would have uploaded; the
handler reads the manifests from the asset bucket, purges, waits, then prunes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cloudfront_purge.changed import manifest
from cloudfront_purge.changed.manifest import Manifest
from cloudfront_purge.model import prune, rules
from cloudfront_purge.prune import plan as prune_plan
from cloudfront_purge.resource import handler
from localcloud.cloudfront import LocalCloudFront
from tests.support.handler import LambdaContext, Responses, StackStatus, event, props

SITE = "site-bucket"
ASSETS = "asset-bucket"
H = "a" * 64
V1 = Manifest({"index.html": H, "a.1111.js": H, "logo.png": H})
V2 = Manifest({"index.html": "b" * 64, "a.2222.js": H, "logo.png": H})


class Recording:
    """The handler's S3 client, recording when each DeleteObjects was sent; ``deny``
    makes DeleteObjects answer AccessDenied, as S3 does without the grant."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.deletes: list[tuple[float, list[str]]] = []
        self.deny = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def delete_objects(self, **kwargs: Any) -> Any:
        self.deletes.append((time.time(), [o["Key"] for o in kwargs["Delete"]["Objects"]]))
        if self.deny:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}},
                              "DeleteObjects")
        return self.client.delete_objects(**kwargs)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloudFront]:
    with LocalCloudFront(invalidation_seconds=0.5) as local:
        yield local


@pytest.fixture
def s3(cloud: LocalCloudFront, monkeypatch: pytest.MonkeyPatch) -> Recording:
    client = boto3.client("s3", endpoint_url=cloud.endpoint_url, region_name=cloud.region,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    for bucket in (SITE, ASSETS):
        try:
            client.create_bucket(Bucket=bucket)
        except ClientError:
            pass
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])
    for name, site in (("v1", V1), ("v2", V2)):
        client.put_object(Bucket=ASSETS, Key=f"{name}.cfpurge-manifest",
                          Body=manifest.dumps(site).encode())
    for key in {*V1.files, *V2.files}:
        client.put_object(Bucket=SITE, Key=f"www/{key}", Body=b"x")
    client.put_object(Bucket=SITE, Key="www/foreign.txt", Body=b"someone else's")
    client.put_object(Bucket=SITE, Key="a.1111.js", Body=b"outside the prefix")
    recording = Recording(client)
    monkeypatch.setattr(handler, "s3", recording)
    return recording


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


def pruning(dist: str, version: str, keep: str = "0", **extra: Any) -> dict[str, Any]:
    return props(dist, f"hash-{version}", OnlyChanged="true",
                 Manifest=f"s3://{ASSETS}/{version}.cfpurge-manifest", PruneBucket=SITE,
                 PruneKeyPrefix="www/", KeepReplacedSeconds=keep, **extra)


def keys(s3: Recording) -> set[str]:
    listed = s3.client.list_objects_v2(Bucket=SITE)
    return {o["Key"] for o in listed.get("Contents", [])
            if not o["Key"].startswith(f"www/{prune.STATE_FOLDER}")}


def run(responses: Responses, request: str, new: dict[str, Any],
        old: dict[str, Any] | None = None) -> dict[str, Any]:
    handler.handler(event(request, new, old=old, physical_id=None if old is None else "Purge-1"),
                    LambdaContext())
    body = responses.last
    assert body["Status"] == "SUCCESS", body["Reason"]
    return dict(body["Data"])


def test_replaced_files_go_only_after_completed_at_a_later_deploy(
    cloud: LocalCloudFront, dist: str, s3: Recording, responses: Responses
) -> None:
    before = keys(s3)
    create = run(responses, "Create", pruning(dist, "v1"))
    assert create["PruneStatus"] == "Held" and create["PrunedCount"] == "0"
    v2 = run(responses, "Update", pruning(dist, "v2"), pruning(dist, "v1"))
    # a.1111.js served the old pages: it stays this deploy, scheduled.
    assert v2["PruneStatus"] == "Pruned" and v2["PrunedCount"] == "0"
    assert v2["PruneScheduled"] == "1" and keys(s3) == before
    again = run(responses, "Update", pruning(dist, "v2", TimeoutSeconds="600"), pruning(dist, "v2"))
    assert again["PrunedCount"] == "1" and again["PruneScheduled"] == "0"
    assert keys(s3) == before - {"www/a.1111.js"}
    # Live files, an object someone else wrote, and a key outside the prefix all stay.
    assert {"www/foreign.txt", "a.1111.js", "www/index.html", "www/a.2222.js"} <= keys(s3)
    # No DeleteObjects before every invalidation of that deploy was Completed.
    completed = max(r.completes_at for r in cloud.invalidations(dist))
    assert s3.deletes and all(sent >= completed for sent, _ in s3.deletes)


def test_a_revert_never_deletes_a_live_file(
    dist: str, s3: Recording, responses: Responses
) -> None:
    run(responses, "Create", pruning(dist, "v1"))
    run(responses, "Update", pruning(dist, "v2"), pruning(dist, "v1"))
    back = run(responses, "Update", pruning(dist, "v1"), pruning(dist, "v2"))
    again = run(responses, "Update", pruning(dist, "v1", TimeoutSeconds="600"), pruning(dist, "v1"))
    assert back["PrunedCount"] == "0" and again["PrunedCount"] == "1"
    assert {f"www/{k}" for k in V1.files} <= keys(s3)
    assert "www/a.2222.js" not in keys(s3)


def test_a_prune_denied_is_success_with_leftovers_that_the_next_deploy_takes(
    dist: str, s3: Recording, responses: Responses
) -> None:
    run(responses, "Create", pruning(dist, "v1"))
    run(responses, "Update", pruning(dist, "v2"), pruning(dist, "v1"))
    s3.deny = True
    denied = run(responses, "Update", pruning(dist, "v2", TimeoutSeconds="600"), pruning(dist, "v2"))
    assert denied["PruneStatus"] == "Partial" and denied["PruneLeftBehind"] == "1"
    assert "AccessDenied" in denied["PruneProblem"] and "www/a.1111.js" in keys(s3)
    s3.deny = False
    later = run(responses, "Update", pruning(dist, "v2"), pruning(dist, "v2", TimeoutSeconds="600"))
    assert later["PrunedCount"] == "1" and "www/a.1111.js" not in keys(s3)


def test_on_timeout_succeed_answers_success_with_a_warning_and_prunes_nothing(
    cloud: LocalCloudFront, dist: str, s3: Recording, responses: Responses
) -> None:
    run(responses, "Create", pruning(dist, "v1"))
    run(responses, "Update", pruning(dist, "v2"), pruning(dist, "v1"))
    cloud.set_invalidation_seconds(30)
    try:
        # A full purge (TimeoutSeconds changed and the manifests say nothing changed would
        # purge nothing): UrlPrefix changes force one.
        slow = run(responses, "Update",
                   pruning(dist, "v2", TimeoutSeconds="1", OnTimeout="succeed", UrlPrefix="/x/"),
                   pruning(dist, "v2"))
    finally:
        cloud.set_invalidation_seconds(0.5)
    assert slow["Status"] == "InProgress" and slow["PurgeConfirmed"] == "false"
    assert slow["InvalidationId"] and "timed out" in slow["Warning"]
    assert slow["PruneStatus"] == "Skipped" and "www/a.1111.js" in keys(s3)
    assert s3.deletes == []


def test_on_timeout_fail_is_todays_failure(
    cloud: LocalCloudFront, dist: str, s3: Recording, responses: Responses
) -> None:
    cloud.set_invalidation_seconds(30)
    try:
        handler.handler(event("Create", pruning(dist, "v1", TimeoutSeconds="1")), LambdaContext())
    finally:
        cloud.set_invalidation_seconds(0.5)
    assert responses.last["Status"] == "FAILED" and "timed out" in responses.last["Reason"]
    assert s3.deletes == []


def state_keys(s3: Recording) -> set[str]:
    listed = s3.client.list_objects_v2(Bucket=SITE, Prefix=f"www/{prune.STATE_FOLDER}")
    return {o["Key"] for o in listed.get("Contents", [])}


def test_a_delete_removes_its_prune_state_and_no_site_file(
    dist: str, s3: Recording, responses: Responses
) -> None:
    run(responses, "Create", pruning(dist, "v1"))
    physical_id = responses.last["PhysicalResourceId"]
    run(responses, "Update", pruning(dist, "v2"), pruning(dist, "v1"))
    before = keys(s3)
    assert len(state_keys(s3)) == 1
    handler.handler(event("Delete", pruning(dist, "v2"), physical_id=physical_id), LambdaContext())
    assert responses.last["Status"] == "SUCCESS"
    assert keys(s3) == before and s3.deletes == []
    assert state_keys(s3) == set()  # no orphan left to hold another writer of the folder


def test_the_delete_of_a_replaced_resource_keeps_the_state_its_replacement_wrote(
    cloud: LocalCloudFront, dist: str, s3: Recording, responses: Responses
) -> None:
    run(responses, "Create", pruning(dist, "v1"))
    replaced_id = responses.last["PhysicalResourceId"]
    # Another distribution: a new physical id, so CloudFormation deletes the old one after.
    other = cloud.create_distribution()
    run(responses, "Update", pruning(other, "v2"), pruning(dist, "v1"))
    assert responses.last["PhysicalResourceId"] != replaced_id
    (state,) = state_keys(s3)
    handler.handler(event("Delete", pruning(dist, "v1"), physical_id=replaced_id), LambdaContext())
    assert responses.last["Status"] == "SUCCESS" and state_keys(s3) == {state}
    # The replacement prunes on from it: v1's bundle was scheduled, and goes now.
    later = run(responses, "Update", pruning(other, "v2", TimeoutSeconds="600"),
                pruning(other, "v2"))
    assert later["PrunedCount"] == "1" and "www/a.1111.js" not in keys(s3)


def test_two_resources_pruning_one_folder_hold_until_one_is_deleted(
    dist: str, s3: Recording, responses: Responses
) -> None:
    # Blog, another resource (a raw template, another app), serves from the same folder
    # and still links the bundle Purge's v2 replaced.
    blog = Manifest({"blog.html": H, "a.1111.js": H})
    s3.client.put_object(Bucket=ASSETS, Key="blog.cfpurge-manifest",
                         Body=manifest.dumps(blog).encode())
    s3.client.put_object(Bucket=SITE, Key="www/blog.html", Body=b"x")
    blog_create = event("Create", pruning(dist, "blog"))
    blog_create["LogicalResourceId"] = "Blog"
    handler.handler(blog_create, LambdaContext())
    blog_id = responses.last["PhysicalResourceId"]
    run(responses, "Create", pruning(dist, "v1"))
    run(responses, "Update", pruning(dist, "v2"), pruning(dist, "v1"))
    held = run(responses, "Update", pruning(dist, "v2", TimeoutSeconds="600"),
               pruning(dist, "v2"))
    assert held["PruneStatus"] == "Held" and held["PrunedCount"] == "0"
    assert "www/a.1111.js" in keys(s3)  # Blog's page still loads it
    assert "another prune state shares this folder" in held["PruneProblem"]
    # Blog is deleted: its Delete removes its state, and Purge prunes again (what Blog's
    # site left in the bucket is no deploy's any more: docs/retention.md).
    blog_delete = event("Delete", pruning(dist, "blog"), physical_id=blog_id)
    blog_delete["LogicalResourceId"] = "Blog"
    handler.handler(blog_delete, LambdaContext())
    later = run(responses, "Update", pruning(dist, "v2"), pruning(dist, "v2", TimeoutSeconds="600"))
    assert later["PruneStatus"] == "Pruned" and later["PrunedCount"] == "1"
    assert "www/a.1111.js" not in keys(s3) and "www/blog.html" in keys(s3)


def test_a_wait_handed_to_a_next_leg_still_schedules_what_the_deploy_replaced(
    cloud: LocalCloudFront, dist: str, s3: Recording, responses: Responses,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    invoked: list[dict[str, Any]] = []

    class FakeLambda:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            invoked.append(json.loads(kwargs["Payload"]))
            return {"StatusCode": 202}

    run(responses, "Create", pruning(dist, "v1"))
    monkeypatch.setattr(handler.boto3, "client", lambda service, **_: FakeLambda())
    cloud.set_invalidation_seconds(4.0)
    answered = len(responses.bodies)
    try:
        handler.handler(event("Update", pruning(dist, "v2"), old=pruning(dist, "v1"),
                              physical_id="Purge-1"), LambdaContext(timeout=2.5))
        assert len(responses.bodies) == answered and len(invoked) == 1  # handed off
        handler.handler(invoked[0], LambdaContext(timeout=60))
    finally:
        cloud.set_invalidation_seconds(0.5)
    handed = responses.last
    assert handed["Status"] == "SUCCESS", handed["Reason"]
    # v1's a.1111.js was replaced by this deploy: kept for its retention, not forgotten.
    assert handed["Data"]["PruneStatus"] == "Pruned", handed["Data"]["PruneProblem"]
    assert handed["Data"]["PruneScheduled"] == "1"
    later = run(responses, "Update", pruning(dist, "v2", TimeoutSeconds="600"),
                pruning(dist, "v2"))
    assert later["PrunedCount"] == "1" and "www/a.1111.js" not in keys(s3)


def _age_state(s3: Recording, seconds: float) -> None:
    """Move every stamp of the prune state back: the deploys before happened long ago."""
    (item,) = s3.client.list_objects_v2(
        Bucket=SITE, Prefix=f"www/{prune.STATE_FOLDER}")["Contents"]
    state = prune_plan.loads(s3.client.get_object(Bucket=SITE, Key=item["Key"])["Body"].read())
    aged = prune_plan.PruneState({k: t - seconds for k, t in state.replaced.items()},
                                 seen=state.seen)
    s3.client.put_object(Bucket=SITE, Key=item["Key"], Body=prune_plan.dumps(aged).encode())


@pytest.mark.parametrize("only_changed", [True, False], ids=["prune-off", "only-changed-off"])
def test_a_prune_switched_off_and_on_again_keeps_what_the_unpruned_deploys_served(
    dist: str, s3: Recording, responses: Responses, only_changed: bool
) -> None:
    def off(version: str) -> dict[str, Any]:
        if not only_changed:  # only_changed off too: those deploys had no manifest
            return props(dist, f"hash-{version}")
        return props(dist, f"hash-{version}", OnlyChanged="true",
                     Manifest=f"s3://{ASSETS}/{version}.cfpurge-manifest")

    run(responses, "Create", pruning(dist, "v1", "3600"))
    run(responses, "Update", pruning(dist, "v2", "3600"), pruning(dist, "v1", "3600"))
    _age_state(s3, 7200)  # a.1111.js was replaced two hours ago...
    # ...then, with the prune off, a revert served it again and a deploy replaced it just now.
    run(responses, "Update", off("v1"), pruning(dist, "v2", "3600"))
    run(responses, "Update", off("v2"), off("v1"))
    back_on = run(responses, "Update", pruning(dist, "v2", "3600"), off("v2"))
    # Pages of the revert, cached for the hour of retention, still need it.
    assert "www/a.1111.js" in keys(s3), back_on
    assert back_on["PrunedCount"] == "0" and back_on["PruneScheduled"] == "1"
    # Its hour runs from the deploy that turned the prune back on, not from two hours ago.
    next_one = run(responses, "Update", pruning(dist, "v2", "3600", TimeoutSeconds="600"),
                   pruning(dist, "v2", "3600"))
    assert "www/a.1111.js" in keys(s3) and next_one["PrunedCount"] == "0", next_one


def test_two_timed_out_deploys_that_revert_and_come_back_do_not_let_a_served_file_go(
    cloud: LocalCloudFront, dist: str, s3: Recording, responses: Responses
) -> None:
    def slow(version: str) -> dict[str, Any]:
        return pruning(dist, version, "3600", TimeoutSeconds="1", OnTimeout="succeed")

    run(responses, "Create", pruning(dist, "v1", "3600"))
    run(responses, "Update", pruning(dist, "v2", "3600"), pruning(dist, "v1", "3600"))
    _age_state(s3, 7200)  # a.1111.js was replaced two hours ago...
    cloud.set_invalidation_seconds(30)
    try:
        # ...then a revert to v1 served it again, and v2 came back: both purges timed out.
        assert run(responses, "Update", slow("v1"), pruning(dist, "v2", "3600"))[
            "PruneStatus"] == "Skipped"
        assert run(responses, "Update", slow("v2"), slow("v1"))["PruneStatus"] == "Skipped"
    finally:
        cloud.set_invalidation_seconds(0.5)
    after = run(responses, "Update", pruning(dist, "v2", "3600"), slow("v2"))
    # v1's pages were served until minutes ago: a.1111.js keeps its hour of retention.
    assert "www/a.1111.js" in keys(s3), after
    assert after["PrunedCount"] == "0"


def test_a_failed_revert_and_its_unconfirmed_rollback_do_not_let_a_served_file_go(
    cloud: LocalCloudFront, dist: str, s3: Recording, responses: Responses,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def slow(version: str) -> dict[str, Any]:
        return pruning(dist, version, "3600", TimeoutSeconds="1")

    run(responses, "Create", pruning(dist, "v1", "3600"))
    run(responses, "Update", pruning(dist, "v2", "3600"), pruning(dist, "v1", "3600"))
    _age_state(s3, 7200)  # a.1111.js was replaced two hours ago...
    cloud.set_invalidation_seconds(30)
    try:
        # ...then a revert to v1 served it again; its purge timed out (FAILED), and the
        # rollback to v2, whose purge timed out too, answered SUCCESS without a prune.
        handler.handler(event("Update", slow("v1"), old=pruning(dist, "v2", "3600"),
                              physical_id="Purge-1"), LambdaContext())
        assert responses.last["Status"] == "FAILED"
        monkeypatch.setattr(handler, "cloudformation", StackStatus(rules.ROLLBACK_STACK_STATUS))
        run(responses, "Update", slow("v2"), slow("v1"))
        monkeypatch.setattr(handler, "cloudformation", StackStatus())
    finally:
        cloud.set_invalidation_seconds(0.5)
    after = run(responses, "Update", pruning(dist, "v2", "3600"), slow("v2"))
    # v1's pages were served until minutes ago: a.1111.js keeps its hour of retention.
    assert "www/a.1111.js" in keys(s3), after

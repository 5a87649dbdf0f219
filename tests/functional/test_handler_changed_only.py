"""The handler's changed-only purges against the local CloudFront, manifests from a fake S3."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cloudfront_purge.changed import manifest
from cloudfront_purge.changed.manifest import Manifest
from cloudfront_purge.model import rules
from cloudfront_purge.resource import handler
from localcloud.cloudfront import LocalCloudFront
from tests.support.handler import (
    INVALIDATION_SECONDS,
    LambdaContext,
    Responses,
    StackStatus,
    event,
    props,
)

V1 = Manifest(files={**{f"docs/p{i}.html": "a" * 64 for i in range(10)}, "index.html": "a" * 64})
V2 = Manifest(files={**V1.files, "docs/p2.html": "b" * 64, "docs/new.html": "c" * 64})


class ManifestBucket:
    def __init__(self) -> None:
        self.objects = {"v1.cfpurge-manifest": manifest.dumps(V1).encode(),
                        "v2.cfpurge-manifest": manifest.dumps(V2).encode()}
        self.reads = 0

    def get_object(self, **kwargs: str) -> dict[str, Any]:
        self.reads += 1
        if kwargs["Key"] not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[kwargs["Key"]])}


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


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> ManifestBucket:
    fake = ManifestBucket()
    monkeypatch.setattr(handler, "s3", fake)
    return fake


def changed_only(dist: str, key: str, source_hash: str) -> dict[str, Any]:
    return props(dist, source_hash, OnlyChanged="true", Manifest=f"s3://assets/{key}",
                 UrlPrefix="/", IndexDocument="index.html", MaxPaths="30")


def test_an_update_purges_the_changed_urls_and_says_what_it_kept(
    cloud: LocalCloudFront, dist: str, responses: Responses, bucket: ManifestBucket
) -> None:
    old, new = changed_only(dist, "v1.cfpurge-manifest", "h1"), changed_only(dist, "v2.cfpurge-manifest", "h2")
    handler.handler(event("Update", new, old=old, physical_id="Purge-1"), LambdaContext())
    body = responses.last
    assert body["Status"] == "SUCCESS", body["Reason"]
    (record,) = cloud.invalidations(dist)
    assert sorted(record.paths) == ["/docs/new.html", "/docs/p2.html"]
    data = body["Data"]
    assert (data["PurgeScope"], data["ChangedFiles"], data["PathCount"]) == ("changed", "2", "2")
    assert data["UnchangedKept"] == "11"  # 9 pages, index.html and "/"
    assert data["Status"] == "Completed" and data["InvalidationId"] == record.id


def test_a_hand_off_submits_the_same_paths_without_reading_the_manifests_again(
    cloud: LocalCloudFront, dist: str, responses: Responses, bucket: ManifestBucket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    invoked: list[dict[str, Any]] = []

    class FakeLambda:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            invoked.append(json.loads(kwargs["Payload"]))
            return {"StatusCode": 202}

    monkeypatch.setattr(handler.boto3, "client", lambda service, **_: FakeLambda())
    old, new = changed_only(dist, "v1.cfpurge-manifest", "h1"), changed_only(dist, "v2.cfpurge-manifest", "h2")
    cloud.set_invalidation_seconds(4.0)
    try:
        handler.handler(event("Update", new, old=old, physical_id="Purge-1"), LambdaContext(timeout=2.5))
        assert responses.bodies == [] and len(invoked) == 1
        reads = bucket.reads
        # The next leg has no OldResourceProperties: the plan travels in the continuation.
        assert "OldResourceProperties" not in invoked[0]
        handler.handler(invoked[0], LambdaContext(timeout=60))
    finally:
        cloud.set_invalidation_seconds(INVALIDATION_SECONDS)
    assert bucket.reads == reads
    assert responses.last["Status"] == "SUCCESS", responses.last["Reason"]
    (record,) = cloud.invalidations(dist)
    assert sorted(record.paths) == ["/docs/new.html", "/docs/p2.html"]
    assert responses.last["Data"]["PurgeScope"] == "changed"


def test_nothing_changed_answers_at_once_without_an_invalidation(
    cloud: LocalCloudFront, dist: str, responses: Responses, bucket: ManifestBucket
) -> None:
    old = changed_only(dist, "v1.cfpurge-manifest", "h1")
    new = {**old, rules.PROP_TIMEOUT_SECONDS: "600"}
    handler.handler(event("Update", new, old=old, physical_id="Purge-1"), LambdaContext())
    assert responses.last["Status"] == "SUCCESS"
    assert cloud.invalidations(dist) == []
    assert responses.last["Data"]["Status"] == rules.STATUS_SKIPPED


def test_bad_changed_only_properties_fail_naming_the_property(
    cloud: LocalCloudFront, dist: str, responses: Responses, bucket: ManifestBucket
) -> None:
    bad = props(dist, OnlyChanged="true")
    handler.handler(event("Update", bad, old=props(dist), physical_id="Purge-1"), LambdaContext())
    assert responses.last["Status"] == "FAILED"
    assert "Manifest is required when OnlyChanged is true" in responses.last["Reason"]
    assert cloud.invalidations(dist) == []

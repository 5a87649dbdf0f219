"""An Update that changes only how to purge (TimeoutSeconds, WaitForCompletion...) purges
nothing and answers at once, in every mode, and so does its rollback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

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


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloudFront]:
    with LocalCloudFront(invalidation_seconds=INVALIDATION_SECONDS) as local:
        yield local


@pytest.fixture
def dist(cloud: LocalCloudFront) -> str:
    return cloud.create_distribution()


class NoS3:
    """A changed-only Update of settings must not even read the manifests."""

    def get_object(self, **kwargs: str) -> dict[str, Any]:
        raise AssertionError(f"read {kwargs}")


@pytest.fixture
def responses(cloud: LocalCloudFront, monkeypatch: pytest.MonkeyPatch) -> Responses:
    recorder = Responses()
    monkeypatch.setattr(handler, "deliver", recorder)
    monkeypatch.setattr(handler, "cloudfront", cloud.client())
    monkeypatch.setattr(handler, "cloudformation", StackStatus())
    monkeypatch.setattr(handler, "s3", NoS3())
    return recorder


#: What event() adds to ResourceProperties; CloudFormation sends it in both old and new.
TOKEN = {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider"}

MODES = {
    "paths": {},
    "not waiting": {rules.PROP_WAIT_FOR_COMPLETION: "false"},
    "changed only": {rules.PROP_ONLY_CHANGED: "true", rules.PROP_MANIFEST: "s3://assets/v1.cfpurge-manifest",
                     rules.PROP_URL_PREFIX: "/", rules.PROP_INDEX_DOCUMENT: "index.html",
                     rules.PROP_MAX_PATHS: "30"},
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rollback", [False, True], ids=["update", "rollback"])
def test_a_timeout_only_update_purges_nothing_and_answers_skipped(
    cloud: LocalCloudFront, dist: str, responses: Responses, mode: str, rollback: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = props(dist, **MODES[mode], **TOKEN, TimeoutSeconds="1800", ServiceTimeout="1920")
    new = {**old, "TimeoutSeconds": "600", "ServiceTimeout": "720"}
    if rollback:
        monkeypatch.setattr(handler, "cloudformation", StackStatus(rules.ROLLBACK_STACK_STATUS))
        old, new = new, old
    started = time.time()
    handler.handler(event("Update", new, old=old, physical_id="Purge-1"), LambdaContext())
    assert time.time() - started < INVALIDATION_SECONDS  # no wait on CloudFront
    body = responses.last
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert cloud.invalidations(dist) == []
    data = body["Data"]
    assert data[rules.ATTR_STATUS] == rules.STATUS_SKIPPED
    assert data[rules.ATTR_PURGE_SCOPE] == "none"
    assert "ServiceTimeout, TimeoutSeconds" in data[rules.ATTR_SCOPE_REASON]
    assert data[rules.ATTR_INVALIDATION_COUNT] == "0"


@pytest.mark.parametrize(
    ("change", "value"),
    [("SourceHash", "bbbb2222cccc3333"), ("Paths", ["/index.html"]), ("Unknown", "x")],
)
def test_a_change_of_content_paths_or_anything_unknown_still_purges(
    cloud: LocalCloudFront, dist: str, responses: Responses, change: str, value: Any,
) -> None:
    old = props(dist, **TOKEN, TimeoutSeconds="1800")
    new = {**old, "TimeoutSeconds": "600", change: value}
    if change == "Unknown":
        # An unknown property fails parsing, so its Update fails saying so: never skipped.
        handler.handler(event("Update", new, old=old, physical_id="Purge-1"), LambdaContext())
        assert responses.last["Status"] == "FAILED"
        return
    handler.handler(event("Update", new, old=old, physical_id="Purge-1"), LambdaContext())
    assert responses.last["Status"] == "SUCCESS", responses.last["Reason"]
    assert len(cloud.invalidations(dist)) == 1


def test_a_change_of_targets_purges_the_new_distribution(
    cloud: LocalCloudFront, dist: str, responses: Responses,
) -> None:
    other = cloud.create_distribution()
    old = props(dist, **TOKEN)
    handler.handler(event("Update", props(other), old=old, physical_id="Purge-1"), LambdaContext())
    assert responses.last["Status"] == "SUCCESS", responses.last["Reason"]
    assert len(cloud.invalidations(other)) == 1


def test_a_resent_identical_update_purges_as_before(
    cloud: LocalCloudFront, dist: str, responses: Responses,
) -> None:
    # No change at all is not "settings only": an Update CloudFormation sends with equal
    # properties (a re-delivery, or a forced update) purges as it always did.
    same = props(dist, **TOKEN)
    handler.handler(event("Update", same, old=dict(same), physical_id="Purge-1"), LambdaContext())
    assert len(cloud.invalidations(dist)) == 1

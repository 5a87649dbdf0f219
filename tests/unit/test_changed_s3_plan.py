"""The handler's changed-only glue: properties, manifests read from S3, the plan's attributes."""

from __future__ import annotations

import io
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cloudfront_purge.changed import manifest, s3_plan
from cloudfront_purge.changed import plan as purge_plan
from cloudfront_purge.changed.manifest import Manifest
from cloudfront_purge.model import rules

DIGEST_A, DIGEST_B = "a" * 64, "b" * 64
V1 = Manifest(files={f"docs/p{i}.html": DIGEST_A for i in range(20)} | {"index.html": DIGEST_A})
V2 = Manifest(files={**V1.files, "docs/p3.html": DIGEST_B})
FULL = ("/*",)


class FakeS3:
    """get_object over a dict of key -> bytes; a missing key answers NoSuchKey as S3 does
    when the caller may s3:ListBucket, else 403 AccessDenied (S3 API Reference, GetObject)."""

    def __init__(self, objects: dict[str, bytes], *, list_bucket: bool = True) -> None:
        self.objects = objects
        self.list_bucket = list_bucket
        self.reads: list[str] = []

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        self.reads.append(f"s3://{Bucket}/{Key}")
        if Key not in self.objects and not self.list_bucket:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}},
                              "GetObject")
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "The specified key does "
                               "not exist."}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}


def props(key: str | None, **extra: str) -> dict[str, str]:
    base = {rules.PROP_ONLY_CHANGED: "true", rules.PROP_URL_PREFIX: "/",
            rules.PROP_INDEX_DOCUMENT: "index.html", rules.PROP_MAX_PATHS: "30"}
    if key is not None:
        base[rules.PROP_MANIFEST] = f"s3://assets/{key}"
    return {**base, **extra}


def update(new: dict[str, str], old: dict[str, str]) -> dict[str, Any]:
    return {"RequestType": "Update", "ResourceProperties": new, "OldResourceProperties": old}


def plan(event: dict[str, Any], s3: FakeS3) -> purge_plan.PurgePlan:
    return s3_plan.plan_for(event, FULL, lambda: s3)  # type: ignore[arg-type,return-value]


@pytest.fixture
def s3() -> FakeS3:
    return FakeS3({"v1.cfpurge-manifest": manifest.dumps(V1).encode(),
                   "v2.cfpurge-manifest": manifest.dumps(V2).encode(),
                   "bad.cfpurge-manifest": b"not json"})


def test_an_update_purges_what_changed_and_keeps_the_rest(s3: FakeS3) -> None:
    result = plan(update(props("v2.cfpurge-manifest"), props("v1.cfpurge-manifest")), s3)
    assert result.scope == purge_plan.SCOPE_CHANGED
    assert result.paths == ("/docs/p3.html",)
    attrs = s3_plan.attributes(result)
    assert attrs[rules.ATTR_PURGE_SCOPE] == "changed"
    assert attrs[rules.ATTR_CHANGED_FILES] == "1"
    # Every other URL of the site stays cached: 20 files plus "/" for the index.
    assert attrs[rules.ATTR_UNCHANGED_KEPT] == "21"
    assert s3.reads == ["s3://assets/v2.cfpurge-manifest", "s3://assets/v1.cfpurge-manifest"]


def test_a_rollback_reads_the_manifests_swapped_and_purges_the_reverse_diff(s3: FakeS3) -> None:
    result = plan(update(props("v1.cfpurge-manifest"), props("v2.cfpurge-manifest")), s3)
    assert result.scope == purge_plan.SCOPE_CHANGED and result.paths == ("/docs/p3.html",)


def test_the_same_manifest_purges_nothing(s3: FakeS3) -> None:
    # A new SourceHash over the same files (a hash of more than the site, say): the
    # manifests are compared and nothing changed. A change of TimeoutSeconds alone is not
    # even compared (test_a_settings_only_update_reads_no_manifest).
    result = plan(update(props("v1.cfpurge-manifest", SourceHash="b"),
                         props("v1.cfpurge-manifest", SourceHash="a")), s3)
    assert result.paths == () and result.changed_files == 0


def test_a_settings_only_update_reads_no_manifest(s3: FakeS3) -> None:
    result = plan(update(props("v1.cfpurge-manifest"), props("v1.cfpurge-manifest",
                                                            TimeoutSeconds="60")), s3)
    assert (result.scope, result.paths, s3.reads) == (purge_plan.SCOPE_NONE, (), [])
    assert result.reason.startswith("only settings changed (TimeoutSeconds)")


@pytest.mark.parametrize(
    ("new_key", "old_key", "reason"),
    [
        ("v2.cfpurge-manifest", "gone.cfpurge-manifest", "NoSuchKey"),
        ("v2.cfpurge-manifest", "bad.cfpurge-manifest", "is not JSON"),
        ("v2.cfpurge-manifest", None, purge_plan.REASON_NO_OLD_MANIFEST),
        ("gone.cfpurge-manifest", "v1.cfpurge-manifest", "this deploy's manifest cannot be used"),
    ],
)
def test_an_unreadable_or_missing_manifest_means_a_full_purge(
    s3: FakeS3, new_key: str, old_key: str | None, reason: str
) -> None:
    old = props(old_key) if old_key else {rules.PROP_SOURCE_HASH: "h"}
    result = plan(update(props(new_key), old), s3)
    assert result.scope == purge_plan.SCOPE_FULL and result.paths == FULL
    assert reason in result.reason
    assert s3_plan.attributes(result)[rules.ATTR_UNCHANGED_KEPT] == "0"


def test_a_manifest_gone_without_list_bucket_reads_as_access_denied_and_says_why(
    s3: FakeS3,
) -> None:
    """The provider's role has no s3:ListBucket: a manifest removed by ``cdk gc`` answers 403."""
    s3.list_bucket = False
    old = "0" * 64 + ".cfpurge-manifest"
    result = plan(update(props("v2.cfpurge-manifest"), props(old)), s3)
    assert result.scope == purge_plan.SCOPE_FULL and result.paths == FULL
    reason = s3_plan.attributes(result)[rules.ATTR_SCOPE_REASON]
    assert "AccessDenied" in reason and f"s3://assets/{old}" in reason
    assert "s3:ListBucket" in reason and "kms:Decrypt" in reason
    assert not reason.endswith(" ...")  # the hint fits the attribute


def test_a_changed_url_prefix_means_a_full_purge(s3: FakeS3) -> None:
    result = plan(update(props("v2.cfpurge-manifest", UrlPrefix="/site/"),
                         props("v1.cfpurge-manifest")), s3)
    assert result.scope == purge_plan.SCOPE_FULL and "URL mapping changed" in result.reason


def test_create_and_only_changed_false_purge_paths_without_reading_s3(s3: FakeS3) -> None:
    create = {"RequestType": "Create", "ResourceProperties": props("v1.cfpurge-manifest")}
    assert plan(create, s3).reason == purge_plan.REASON_CREATE
    off = update({rules.PROP_ONLY_CHANGED: "false", rules.PROP_SOURCE_HASH: "b"},
                 {rules.PROP_SOURCE_HASH: "a"})
    result = plan(off, s3)
    assert result.scope == purge_plan.SCOPE_FULL and result.reason == s3_plan.REASON_PATHS
    assert s3.reads == []


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({rules.PROP_ONLY_CHANGED: "true"}, "Manifest is required when OnlyChanged is true"),
        ({rules.PROP_ONLY_CHANGED: "maybe"}, "OnlyChanged must be true or false"),
        (props("k", Manifest="https://x/y"), "Manifest must be an S3 URL"),
        (props("k", UrlPrefix="docs"), "UrlPrefix must start and end with '/'"),
        (props("k", IndexDocument="a/b.html"), "IndexDocument must be a file name"),
        (props("k", MaxPaths="0"), "MaxPaths is 0"),
        (props("k", MaxPaths="many"), "MaxPaths must be a whole number"),
    ],
)
def test_bad_properties_fail_naming_the_property(properties: dict[str, str], message: str) -> None:
    with pytest.raises(rules.RuleError, match=message):
        s3_plan.parse_changed_only(properties)


def test_bad_old_properties_mean_a_full_purge_not_a_failure(s3: FakeS3) -> None:
    result = plan(update(props("v2.cfpurge-manifest"), props("v1.cfpurge-manifest",
                                                            MaxPaths="0")), s3)
    assert result.scope == purge_plan.SCOPE_FULL
    assert "previous deploy's properties cannot be used" in result.reason


def test_the_plan_survives_a_hand_off() -> None:
    planned = purge_plan.PurgePlan("changed", "1 file(s) changed", ("/a.html",), 1, 9, 0)
    saved = {s3_plan.CONTINUATION_KEY: s3_plan.to_continuation(planned)}
    assert s3_plan.from_continuation(saved, FULL) == planned
    full = purge_plan.full_plan("Create", FULL)
    restored = s3_plan.from_continuation(
        {s3_plan.CONTINUATION_KEY: s3_plan.to_continuation(full)}, FULL)
    assert restored == full
    assert s3_plan.from_continuation({}, FULL) is None

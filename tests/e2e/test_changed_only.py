"""Changed-only purges end to end: examples/changed_only_app.py synthesized at two content
versions, deployed through the local CloudFormation, the manifests read from the local asset
bucket by the handler in its own Lambda-like process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudfront_purge.changed import changes, manifest
from localcloud.changed_only import SiteVersions, synthesize_versions
from localcloud.cloudformation.lifecycle import LocalCloudFormation, Outcome
from localcloud.cloudfront import LocalCloudFront
from localcloud.demo import check

#: What v1 -> v2 changes (localcloud.changed_only.write_site): two pages edited, a post
#: added, one removed, and the blog's index (both its URLs).
CHANGED_URLS = {
    "/docs/guide/page-3.html",
    "/docs/guide/page-4.html",
    "/blog/post-1.html",
    "/blog/post-11.html",
    "/blog/index.html",
    "/blog/",
}


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> SiteVersions:
    return synthesize_versions(tmp_path_factory.mktemp("changed-only"))


@pytest.fixture
def stack(versions: SiteVersions) -> Iterator[LocalCloudFormation]:
    with LocalCloudFront(invalidation_seconds=0.3) as cloud, \
            LocalCloudFormation(versions.v1, cloud=cloud, service_timeout=60) as local:
        yield local


def paths(outcome: Outcome) -> set[str]:
    return {p for record in outcome.invalidations for p in record.paths}


def unchanged_urls(site: Path) -> int:
    """URLs of the new site whose content did not change: what the purge should keep."""
    built = manifest.build_manifest([site])
    urls = {u for key in built.files for u in changes.UrlMapping().raw_urls(key)}
    return len(urls - CHANGED_URLS)


def manifest_url(stack: LocalCloudFormation) -> str:
    (resource,) = stack.resources.values()
    assert resource.properties is not None
    return str(resource.properties["Manifest"])


def test_v1_to_v2_purges_what_changed_and_a_rollback_purges_it_back(
    stack: LocalCloudFormation, versions: SiteVersions
) -> None:
    (create,) = stack.deploy("v1")
    assert create.status == "SUCCESS", create.reason
    assert create.data["PurgeScope"] == "full" and "Create" in create.data["ScopeReason"]
    assert paths(create) == {"/*"}

    stack.use_assembly(versions.v2)
    change, rollback = stack.deploy("v2, then another resource fails", fail_after=True)
    assert change.request_type == "Update" and change.status == "SUCCESS", change.reason
    assert change.data["PurgeScope"] == "changed"
    assert paths(change) == CHANGED_URLS
    assert change.data["ChangedFiles"] == "5"
    assert change.data["PathCount"] == str(len(CHANGED_URLS))
    assert int(change.data["UnchangedKept"]) == unchanged_urls(versions.site_v2)
    assert "purge_scope" in change.logs

    # The rollback is an Update back to v1: the reverse diff, the same URLs, a new reference.
    assert rollback.step.endswith("(rollback)") and rollback.status == "SUCCESS"
    assert rollback.data["PurgeScope"] == "changed" and paths(rollback) == CHANGED_URLS
    assert int(rollback.data["UnchangedKept"]) == unchanged_urls(versions.site_v1)
    references = {r.caller_reference for o in (change, rollback) for r in o.invalidations}
    assert len(references) == 2
    assert check([create, change, rollback]) == []


def test_a_change_that_lands_in_no_file_purges_nothing(
    stack: LocalCloudFormation, versions: SiteVersions
) -> None:
    stack.deploy("v1")
    # A new content identity over the same files: the manifests are compared.
    (update,) = stack.deploy("same files", overrides={"SourceHash": "same-files-new-hash"})
    assert update.status == "SUCCESS", update.reason
    assert update.invalidations == []
    assert update.data["Status"] == "Skipped" and update.data["PathCount"] == "0"
    assert update.data["PurgeScope"] == "changed" and update.data["ChangedFiles"] == "0"
    assert update.seconds_to_answer is not None and check([update]) == []
    # A change of settings only is not even compared (docs/design.md, "Updates that purge nothing").
    (settings,) = stack.deploy("only TimeoutSeconds", overrides={
        "SourceHash": "same-files-new-hash", "TimeoutSeconds": "900"})
    assert settings.status == "SUCCESS", settings.reason
    assert settings.invalidations == []
    assert settings.data["Status"] == "Skipped" and settings.data["PurgeScope"] == "none"


def test_an_old_manifest_removed_by_cdk_gc_means_a_full_purge(
    stack: LocalCloudFormation, versions: SiteVersions
) -> None:
    stack.deploy("v1")
    old = manifest_url(stack)
    stack.asset_bucket.delete(old)  # as `cdk gc` does to an asset no template references
    assert not stack.asset_bucket.exists(old)
    stack.use_assembly(versions.v2)
    (update,) = stack.deploy("v2 after cdk gc")
    assert update.status == "SUCCESS", update.reason
    assert update.data["PurgeScope"] == "full"
    # The role may not s3:ListBucket, so S3 answers a key that is gone with 403, not 404
    # (S3 API Reference, GetObject); the reason says what that can mean.
    reason = update.data["ScopeReason"]
    assert "AccessDenied" in reason and "NoSuchKey" not in reason and old in reason
    assert "s3:ListBucket" in reason and "kms:Decrypt" in reason
    assert paths(update) == {"/*"}


def test_only_changed_false_purges_paths_as_before(
    stack: LocalCloudFormation, versions: SiteVersions
) -> None:
    stack.deploy("v1")
    stack.use_assembly(versions.v2)
    (update,) = stack.deploy("v2 with OnlyChanged false", overrides={"OnlyChanged": "false"})
    assert update.status == "SUCCESS", update.reason
    assert paths(update) == {"/*"}
    assert update.data["PurgeScope"] == "full" and "OnlyChanged is false" in update.data["ScopeReason"]
    assert update.data["Status"] == "Completed"


# --- IAM computed from the deployed template (localcloud.iam) -------------------------------


def decided(stack: LocalCloudFormation, action: str) -> dict[str, set[str]]:
    """Resource ARN -> the decisions the local services' IAM made for ``action``."""
    found: dict[str, set[str]] = {}
    for _key, act, resource, decision in stack.cloud.iam.decisions:
        if act == action:
            found.setdefault(resource, set()).add(decision)
    return found


def test_the_provider_calls_are_decided_from_the_deployed_policies(
    stack: LocalCloudFormation, versions: SiteVersions
) -> None:
    stack.deploy("v1")
    old = manifest_url(stack)
    stack.use_assembly(versions.v2)
    (update,) = stack.deploy("v2")
    assert update.status == "SUCCESS" and update.data["PurgeScope"] == "changed", update.reason
    (distribution_id,) = stack.distributions.values()
    distribution = f"arn:aws:cloudfront::{stack.cloud.account_id}:distribution/{distribution_id}"
    assert decided(stack, "cloudfront:CreateInvalidation") == {distribution: {"Allowed"}}
    assert decided(stack, "cloudfront:GetInvalidation") == {distribution: {"Allowed"}}
    objects = {f"arn:aws:s3:::{url.removeprefix('s3://')}" for url in (old, manifest_url(stack))}
    assert set(decided(stack, "s3:GetObject")) == objects
    assert all(d == {"Allowed"} for d in decided(stack, "s3:GetObject").values())
    stack_ids = decided(stack, "cloudformation:DescribeStacks")
    assert list(stack_ids.values()) == [{"Allowed"}]
    assert next(iter(stack_ids)).startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/")


def test_a_manifest_grant_missing_from_the_template_means_a_full_purge_that_says_why(
    stack: LocalCloudFormation, versions: SiteVersions
) -> None:
    stack.deploy("v1")
    stack.use_assembly(versions.v2)

    def without_get_object(statement: dict[str, Any]) -> dict[str, Any] | None:
        return None if statement.get("Action") == "s3:GetObject" else statement

    stack.change_role_policies(without_get_object)
    (update,) = stack.deploy("v2 without the manifest grant")
    assert update.status == "SUCCESS", update.reason
    assert update.data["PurgeScope"] == "full" and paths(update) == {"/*"}
    assert "AccessDenied" in update.data["ScopeReason"]
    assert {"ImplicitlyDenied"} in decided(stack, "s3:GetObject").values()


def test_with_list_bucket_granted_a_manifest_removed_by_cdk_gc_reads_as_no_such_key(
    stack: LocalCloudFormation, versions: SiteVersions
) -> None:
    """S3 tells a caller that may list the bucket that the key does not exist."""
    stack.deploy("v1")
    old = manifest_url(stack)
    stack.asset_bucket.delete(old)
    bucket = old.removeprefix("s3://").split("/", 1)[0]

    def with_list_bucket(statement: dict[str, Any]) -> dict[str, Any]:
        if statement.get("Action") != "s3:GetObject":
            return statement
        return {**statement, "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [statement["Resource"], f"arn:aws:s3:::{bucket}"]}

    stack.use_assembly(versions.v2)
    stack.change_role_policies(with_list_bucket)
    (update,) = stack.deploy("v2 after cdk gc, ListBucket granted")
    assert update.status == "SUCCESS", update.reason
    reason = update.data["ScopeReason"]
    assert update.data["PurgeScope"] == "full" and "NoSuchKey" in reason and old in reason
    assert decided(stack, "s3:ListBucket") == {f"arn:aws:s3:::{bucket}": {"Allowed"}}

"""aws-cdk-lib's own BucketDeployment handler and AWS CLI layer, run by the local CloudFormation.

The app (localcloud/peer_site_app.py, aws-cdk-lib only) is synthesized at two site versions;
each stack is deployed at v1, updated to v2, and deleted, and what the peer documents is
checked in moto's S3 and the local CloudFront: prune on removes the files only v1 had,
prune off keeps them, ``distribution=`` invalidates ``/*`` and answers only once that
invalidation is Completed, and Delete keeps the files (retain_on_delete defaults to true).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud.cloudformation.bucket_deployment import BUCKET_DEPLOYMENT_TYPE
from localcloud.cloudformation.lifecycle import Outcome
from localcloud.cloudfront import LocalCloudFront
from localcloud.peer_site_app import NO_PRUNE, PLAIN, WITH_DISTRIBUTION
from localcloud.site_stack import SiteStack, success_at, synthesize_versions

V1 = {
    "index.html": "<html><script src='app.v1.js'></script>v1</html>",
    "app.v1.js": "console.log('v1')",
    "assets/old-only.css": "body { color: red }",
    "shared.txt": "shared, as of v1",
}
V2 = {
    "index.html": "<html><script src='app.v2.js'></script>v2</html>",
    "app.v2.js": "console.log('v2')",
    "shared.txt": "shared, as of v2",
}
INVALIDATION_SECONDS = 1.0
#: The handler's waiter polls every 20 s; 0.05 makes that 1 s here (docs/local-cloud.md).
WAITER_DELAY_SCALE = 0.05


def _write_site(directory: Path, files: dict[str, str]) -> Path:
    for name, body in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("peer-site")
    sites = [_write_site(root / "v1", V1), _write_site(root / "v2", V2)]
    return synthesize_versions(sites, root)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloudFront]:
    with LocalCloudFront(invalidation_seconds=INVALIDATION_SECONDS) as local:
        yield local


def _objects(cloud: LocalCloudFront, bucket: str) -> dict[str, str]:
    s3: Any = boto3.client(
        "s3", endpoint_url=cloud.endpoint_url, region_name=cloud.region,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {
        key: s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode() for key in keys
    }


def _only(outcomes: list[Outcome], request_type: str) -> Outcome:
    assert [(o.resource_type, o.request_type) for o in outcomes] == [
        (BUCKET_DEPLOYMENT_TYPE, request_type)
    ], [o.reason for o in outcomes]
    outcome = outcomes[0]
    assert outcome.status == "SUCCESS", f"{outcome.reason}\n{outcome.logs[-3000:]}"
    return outcome


def _assert_waited_for_completed(cloud: LocalCloudFront, outcome: Outcome) -> None:
    """One invalidation of /*, created by the handler, Completed before it answered, and
    polled by its waiter (more than one GetInvalidation)."""
    assert len(outcome.invalidations) == 1
    record = outcome.invalidations[0]
    assert list(record.paths) == ["/*"]
    assert outcome.answered_at is not None
    assert record.completes_at <= outcome.answered_at
    assert cloud.get_calls(record.id) >= 2
    # Polled every 20 s * WAITER_DELAY_SCALE: well before the unscaled 20 s.
    assert outcome.answered_at - record.create_time < 15
    answer = cloud.client().get_invalidation(DistributionId=record.target_id, Id=record.id)
    assert answer["Invalidation"]["Status"] == "Completed"


def test_distribution_prune_on_uploads_prunes_invalidates_and_waits(
    assemblies: list[Path], cloud: LocalCloudFront
) -> None:
    answered: list[Outcome] = []
    with SiteStack(
        assemblies[0], cloud=cloud, stack_name=WITH_DISTRIBUTION,
        waiter_delay_scale=WAITER_DELAY_SCALE, service_timeout=120, on_outcome=answered.append,
    ) as site:
        created = _only(site.deploy("v1"), "Create")
        assert _objects(cloud, site.bucket) == V1
        assert site.distribution_id is not None
        _assert_waited_for_completed(cloud, created)
        # The real AWS CLI of the layer did the copy: its own progress lines are in the log.
        assert "upload: " in created.logs

        updated_outcomes = site.deploy("v2", assemblies[1])
        updated = _only(updated_outcomes, "Update")
        # Prune on (the default): what only v1 had is gone, the rest is v2's.
        assert _objects(cloud, site.bucket) == V2
        assert "delete: s3://" in updated.logs
        _assert_waited_for_completed(cloud, updated)
        assert success_at(updated_outcomes) == updated.answered_at
        assert answered == [created, updated]

        deleted = _only(site.delete(), "Delete")
        # retain_on_delete defaults to true: the files stay.
        assert _objects(cloud, site.bucket) == V2
        assert deleted.physical_id == created.physical_id


def test_no_distribution_prune_on_and_off(
    assemblies: list[Path], cloud: LocalCloudFront
) -> None:
    before = len(cloud.invalidations())
    for stack_name, expected in ((PLAIN, V2), (NO_PRUNE, {**V1, **V2})):
        with SiteStack(assemblies[0], cloud=cloud, stack_name=stack_name) as site:
            _only(site.deploy("v1"), "Create")
            assert _objects(cloud, site.bucket) == V1, stack_name
            _only(site.deploy("v2", assemblies[1]), "Update")
            assert _objects(cloud, site.bucket) == expected, stack_name
            if stack_name == PLAIN:  # a revert is one more Update: v1 exactly, again
                _only(site.deploy("revert to v1", assemblies[0]), "Update")
                assert _objects(cloud, site.bucket) == V1
    assert len(cloud.invalidations()) == before  # no distribution: nothing to invalidate


def test_a_rolled_back_update_syncs_the_old_content_again(
    assemblies: list[Path], cloud: LocalCloudFront
) -> None:
    """Another resource fails after the upload: CloudFormation sends the peer an Update
    back to the old properties, and its sync (prune on) restores v1 exactly."""
    with SiteStack(assemblies[0], cloud=cloud, stack_name=PLAIN) as site:
        _only(site.deploy("v1"), "Create")
        update, rollback = site.deploy("v2, then another resource fails", assemblies[1],
                                       fail_after=True)
        assert (update.status, rollback.status) == ("SUCCESS", "SUCCESS"), rollback.reason
        assert rollback.step.endswith("(rollback)")
        assert _objects(cloud, site.bucket) == V1
        assert site.cloudformation.stack_status == "UPDATE_ROLLBACK_COMPLETE"


def test_app_py_uploads_with_the_peer_then_purges_with_ours(
    app_assembly: Path, cloud: LocalCloudFront
) -> None:
    """The project's own example, as CloudFormation runs it: the peer's upload (and prune)
    first, then this project's purge, which depends on it; deleted in the reverse order."""
    site_dir = Path(__file__).resolve().parents[2] / "site"
    expected = {
        path.relative_to(site_dir).as_posix() for path in site_dir.rglob("*") if path.is_file()
    }
    with SiteStack(app_assembly, cloud=cloud, service_timeout=120) as site:
        upload, purge = site.deploy("first deploy")
        assert (upload.resource_type, upload.status) == (BUCKET_DEPLOYMENT_TYPE, "SUCCESS"), (
            upload.reason
        )
        assert (purge.resource_type, purge.status) == ("Custom::CloudFrontInvalidation",
                                                       "SUCCESS"), purge.reason
        assert set(_objects(cloud, site.bucket)) == expected
        assert upload.answered_at is not None
        assert [r.create_time >= upload.answered_at for r in purge.invalidations] == [True]
        deleted = site.delete()
        assert [o.resource_type for o in deleted] == [
            "Custom::CloudFrontInvalidation", BUCKET_DEPLOYMENT_TYPE
        ]
        assert all(o.status == "SUCCESS" for o in deleted), [o.reason for o in deleted]

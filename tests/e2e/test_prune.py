"""Prune after the purge end to end: examples/safe_site_app.py synthesized at two versions of
a site, deployed through the local CloudFormation, its handler in a Lambda-like process
pruning moto's S3 on the local cloud's server.

The site bucket's objects are put there by the test, as the app's two BucketDeployments
(prune=False) would upload them before the purge runs: every version's files, nothing
deleted. KeepReplacedSeconds is overridden to 0 where a test needs a deletion at the next
deploy (the template's default, 7 days, would keep everything for a week). A denied or
throttled prune, a damaged state, a vanished bucket and OnTimeout succeed are the fault
matrix's prune cells (tests/e2e/test_prune_faults.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud.cdk_app import synthesize
from localcloud.cloudformation.lifecycle import LocalCloudFormation, Outcome
from localcloud.cloudfront import LocalCloudFront

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "safe_site_app.py"
STATE_FOLDER = ".cloudfront-purge/"
#: v1 -> v2: a new hashed bundle replaces the old one, the page that names it changes.
V1 = {"index.html": "<script src=/app.1111.js></script>v1", "app.1111.js": "one",
      "logo.png": "logo", "about.html": "about"}
V2 = {"index.html": "<script src=/app.2222.js></script>v2", "app.2222.js": "two",
      "logo.png": "logo", "about.html": "about"}
NOW = {"KeepReplacedSeconds": "0"}


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, body in files.items():
        (folder / name).write_text(body)
    return folder


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("prune")
    return {
        name: synthesize(APP, work / f"cdk-out-{name}",
                         env={"SITE_DIR": str(write(work / f"site-{name}", files))})
        for name, files in (("v1", V1), ("v2", V2))
    }


@pytest.fixture
def cloud() -> Iterator[LocalCloudFront]:
    with LocalCloudFront(invalidation_seconds=0.4) as local:
        yield local


@pytest.fixture
def stack(cloud: LocalCloudFront, assemblies: dict[str, Path]) -> Iterator[LocalCloudFormation]:
    with LocalCloudFormation(
        assemblies["v1"], cloud=cloud, service_timeout=60,
        # The story is the pruning purge's; the rollback-only one has its own tests.
        skip_resources=lambda logical_id: "RollbackPurge" in logical_id,
    ) as local:
        yield local


class Site:
    """The site bucket of the stack, in moto's S3."""

    def __init__(self, stack: LocalCloudFormation) -> None:
        (self.name,) = stack.buckets.values()
        self.client: Any = boto3.client(
            "s3", endpoint_url=stack.cloud.endpoint_url, region_name=stack.cloud.region,
            aws_access_key_id="testing", aws_secret_access_key="testing")
        # moto's S3 lives as long as the test process: start from an empty bucket.
        listed = self.client.list_objects_v2(Bucket=self.name).get("Contents", [])
        for item in listed:
            self.client.delete_object(Bucket=self.name, Key=item["Key"])

    def upload(self, files: dict[str, str]) -> None:
        """What the BucketDeployments (prune=False) do before the purge."""
        for key, body in files.items():
            self.client.put_object(Bucket=self.name, Key=key, Body=body.encode())

    def keys(self) -> set[str]:
        listed = self.client.list_objects_v2(Bucket=self.name).get("Contents", [])
        return {o["Key"] for o in listed if not o["Key"].startswith(STATE_FOLDER)}

    def state_keys(self) -> set[str]:
        listed = self.client.list_objects_v2(Bucket=self.name, Prefix=STATE_FOLDER)
        return {o["Key"] for o in listed.get("Contents", [])}


def log_times(outcome: Outcome, event: str) -> list[float]:
    """When the handler logged ``event`` (Lambda's JSON log lines carry a timestamp)."""
    times = []
    for line in outcome.logs.splitlines():
        start = line.find("{")
        try:
            entry = json.loads(line[start:]) if start >= 0 else None
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("message") == event:
            stamp = str(entry["timestamp"]).replace("Z", "+00:00")
            times.append(datetime.fromisoformat(stamp).timestamp())
    return times


def deploy(stack: LocalCloudFormation, site: Site, step: str, files: dict[str, str],
           assembly: Path, **kwargs: Any) -> list[Outcome]:
    stack.use_assembly(assembly)
    site.upload(files)
    return stack.deploy(step, **kwargs)


def ok(outcomes: list[Outcome]) -> Outcome:
    outcome = outcomes[0]
    assert outcome.status == "SUCCESS", outcome.reason
    return outcome


def test_replaced_files_go_after_completed_at_the_next_deploy_and_foreign_ones_stay(
    stack: LocalCloudFormation, assemblies: dict[str, Path]
) -> None:
    site = Site(stack)
    site.client.put_object(Bucket=site.name, Key="uploads/user.jpg", Body=b"someone else's")
    create = ok(deploy(stack, site, "v1", V1, assemblies["v1"], overrides=NOW))
    assert create.data["PruneStatus"] == "Held"
    change = ok(deploy(stack, site, "v1 -> v2", V2, assemblies["v2"], overrides=NOW))
    # The old bundle served the old pages still cached: kept this deploy, scheduled.
    assert change.data["PruneScheduled"] == "1" and "app.1111.js" in site.keys()
    assert change.data["PurgeScope"] == "changed"
    # A changed UrlPrefix purges everything: the deletion waits for that purge's Completed.
    later = ok(stack.deploy("v2, UrlPrefix changes", overrides={**NOW, "UrlPrefix": "/x/"}))
    assert later.data["PrunedCount"] == "1" and later.data["PruneStatus"] == "Pruned"
    assert later.invalidations and later.data["PurgeScope"] == "full"
    assert site.keys() == set(V2) | {"uploads/user.jpg"}
    completed = max(r.completes_at for r in later.invalidations)
    (pruned_at,) = log_times(later, "prune")
    assert pruned_at >= completed, (pruned_at, completed)


def test_a_revert_keeps_every_live_file(stack: LocalCloudFormation,
                                        assemblies: dict[str, Path]) -> None:
    site = Site(stack)
    ok(deploy(stack, site, "v1", V1, assemblies["v1"], overrides=NOW))
    ok(deploy(stack, site, "v2", V2, assemblies["v2"], overrides=NOW))
    back = ok(deploy(stack, site, "back to v1", V1, assemblies["v1"], overrides=NOW))
    assert back.data["PrunedCount"] == "0"
    again = ok(stack.deploy("v1 again", overrides={**NOW, "TimeoutSeconds": "900"}))
    assert again.data["PrunedCount"] == "1"
    assert site.keys() == set(V1)


def test_a_rollback_deletes_nothing_and_keeps_the_restored_version_live(
    stack: LocalCloudFormation, assemblies: dict[str, Path]
) -> None:
    site = Site(stack)
    ok(deploy(stack, site, "v1", V1, assemblies["v1"], overrides=NOW))
    change, rollback = deploy(stack, site, "v2, then another resource fails", V2,
                              assemblies["v2"], overrides=NOW, fail_after=True)
    assert change.status == rollback.status == "SUCCESS", rollback.reason
    assert rollback.step.endswith("(rollback)")
    assert rollback.data["PruneStatus"] == "Held" and rollback.data["PrunedCount"] == "0"
    assert set(V1) | set(V2) <= site.keys()
    # v1 is live again: the next deploy of v1 deletes v2's bundle, never v1's files.
    stack.use_assembly(assemblies["v1"])
    after = ok(stack.deploy("v1 after the rollback", overrides={**NOW, "TimeoutSeconds": "900"}))
    assert set(V1) <= site.keys() and "app.2222.js" not in site.keys()
    assert after.data["PrunedCount"] == "1"


def test_a_delete_removes_its_prune_state_and_no_site_file(
    stack: LocalCloudFormation, assemblies: dict[str, Path]
) -> None:
    site = Site(stack)
    ok(deploy(stack, site, "v1", V1, assemblies["v1"], overrides=NOW))
    ok(deploy(stack, site, "v2", V2, assemblies["v2"], overrides=NOW))
    before = site.keys()
    assert len(site.state_keys()) == 1
    (delete,) = stack.delete()
    assert delete.status == "SUCCESS" and site.keys() == before
    # Removed with the role's own grants (the local cloud's S3 decides IAM).
    assert site.state_keys() == set(), delete.logs


def test_another_writers_state_in_the_folder_holds_the_prune_until_it_is_deleted(
    stack: LocalCloudFormation, assemblies: dict[str, Path]
) -> None:
    site = Site(stack)
    # A pipeline (cloudfront-invalidate purge --prune-bucket) syncs its pages to the same
    # folder; they load app.1111.js too.
    other = f"{STATE_FOLDER}prune-state-0123456789abcdef0123.json"
    site.client.put_object(Bucket=site.name, Key=other, Body=b'{"format":"cloudfront-purge-'
                           b'prune-state","replaced":{},"seen":"","version":1}')
    ok(deploy(stack, site, "v1", V1, assemblies["v1"], overrides=NOW))
    ok(deploy(stack, site, "v2", V2, assemblies["v2"], overrides=NOW))
    held = ok(stack.deploy("v2 again", overrides={**NOW, "TimeoutSeconds": "900"}))
    assert held.data["PruneStatus"] == "Held" and "app.1111.js" in site.keys()
    assert "prune-state-0123456789abcdef0123.json" in held.data["PruneProblem"]
    assert "own prefix" in held.data["PruneProblem"]
    # The pipeline moved elsewhere: a person deletes its state, and the next deploy prunes.
    site.client.delete_object(Bucket=site.name, Key=other)
    after = ok(stack.deploy("v2 once more", overrides={**NOW, "TimeoutSeconds": "901"}))
    assert after.data["PruneStatus"] == "Pruned" and site.keys() == set(V2)

"""The prune's faults: the fault matrix's cells for a pruning resource (docs/retention.md).

    python -m localcloud.fault_matrix --prune   # prints only this section of docs/faults.md

``examples/safe_site_app.py`` synthesized at two versions of a site (v2 replaces v1's
bundle ``app.1111.js``), deployed through the local CloudFormation; the site bucket is
moto's S3 on the local cloud's server, filled by the cell as the app's BucketDeployments
(prune=False) would. Each cell deploys v1, then v2 (the bundle is scheduled), then, under
the fault, the deploy whose prune deletes the bundle (KeepReplacedSeconds 0). It checks:

- the answer and the stack status (a prune never fails a deploy);
- PruneStatus and whether the bundle is gone;
- that every file of the live version, and an object nobody deployed, are still there;
- the ``prune`` log line (JSON, with its fields);
- then, the fault cleared, that the next deploy answers SUCCESS and deletes what the cell
  left behind (where the fault left the prune state readable).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from localcloud.cloudformation.lifecycle import LocalCloudFormation, Outcome
from localcloud.cloudfront import LocalCloudFront
from localcloud.log_lines import logged

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "safe_site_app.py"
V1 = {"index.html": "<script src=/app.1111.js></script>v1", "app.1111.js": "one",
      "logo.png": "logo"}
V2 = {"index.html": "<script src=/app.2222.js></script>v2", "app.2222.js": "two",
      "logo.png": "logo"}
REPLACED = "app.1111.js"
FOREIGN = "uploads/someone-else.jpg"
STATE_FOLDER = ".cloudfront-purge/"
NOW = {"KeepReplacedSeconds": "0"}


@dataclass
class PruneStory:
    """One fresh stack of the safe set-up and its site bucket."""

    stack: LocalCloudFormation
    assemblies: dict[str, Path]
    s3: Any
    bucket: str

    def upload(self, files: dict[str, str]) -> None:
        for key, body in files.items():
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode())

    def keys(self) -> set[str]:
        try:
            listed = self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        except Exception:  # the bucket a cell deleted
            return set()
        return {o["Key"] for o in listed if not o["Key"].startswith(STATE_FOLDER)}

    def state_keys(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=STATE_FOLDER)
        return [o["Key"] for o in listed.get("Contents", [])]


Arm = Callable[[PruneStory], None]


def _nothing(_story: PruneStory) -> None:
    return None


@dataclass(frozen=True)
class PruneFault:
    name: str
    arm: Arm = _nothing
    disarm: Arm = _nothing
    overrides: dict[str, Any] = field(default_factory=dict)
    #: CloudFront's invalidation time during the cell (None: the matrix's).
    invalidation_seconds: float | None = None
    fail_after: bool = False
    #: The PruneStatus of the answer judged (a rollback cell: the rollback's).
    prune_status: str = "Pruned"
    #: Whether the replaced bundle is gone after the cell.
    bundle_deleted: bool = True
    #: Whether the deploy after the fault deletes the bundle (False: nothing left to do, or
    #: the fault took the state that listed it).
    next_deploy_deletes: bool = False
    #: Words the PruneProblem attribute must contain.
    problem_has: tuple[str, ...] = ()


def _deny(story: PruneStory) -> None:
    story.stack.cloud.s3_delete_denial.deny(story.bucket)


def _throttle(story: PruneStory) -> None:
    story.stack.cloud.s3_delete_denial.throttle(story.bucket)


def _allow(story: PruneStory) -> None:
    story.stack.cloud.s3_delete_denial.allow(story.bucket)


def _damage_state(story: PruneStory) -> None:
    for key in story.state_keys():
        story.s3.put_object(Bucket=story.bucket, Key=key, Body=b"{not json")


def _delete_bucket(story: PruneStory) -> None:
    for key in [*story.keys(), *story.state_keys()]:
        story.s3.delete_object(Bucket=story.bucket, Key=key)
    story.s3.delete_bucket(Bucket=story.bucket)


def _restore_bucket(story: PruneStory) -> None:
    story.s3.create_bucket(Bucket=story.bucket)
    story.upload(V2)
    story.s3.put_object(Bucket=story.bucket, Key=FOREIGN, Body=b"x")


PRUNE_FAULTS: tuple[PruneFault, ...] = (
    PruneFault("none"),
    PruneFault("DeleteObjects AccessDenied (no s3:DeleteObject)", _deny, _allow,
               prune_status="Partial", bundle_deleted=False, next_deploy_deletes=True,
               problem_has=("AccessDenied",)),
    PruneFault("DeleteObjects 503 SlowDown on every attempt", _throttle, _allow,
               prune_status="Partial", bundle_deleted=False, next_deploy_deletes=True,
               problem_has=("SlowDown",)),
    PruneFault("prune state damaged (not JSON)", _damage_state,
               prune_status="Partial", bundle_deleted=False, problem_has=("started afresh",)),
    PruneFault("site bucket deleted (NoSuchBucket)", _delete_bucket, _restore_bucket,
               prune_status="Failed", bundle_deleted=True, problem_has=("NoSuchBucket",)),
    PruneFault("CloudFront slower than TimeoutSeconds, OnTimeout succeed",
               # A changed UrlPrefix makes the deploy purge (the files did not change).
               overrides={"OnTimeout": "succeed", "TimeoutSeconds": "2", "UrlPrefix": "/x/"},
               invalidation_seconds=15.0, prune_status="Skipped", bundle_deleted=False,
               next_deploy_deletes=True, problem_has=("Completed",)),
    PruneFault("another resource fails after the update: a rollback", fail_after=True,
               prune_status="Held", bundle_deleted=True, problem_has=("rollback",)),
)


@dataclass
class PruneRow:
    fault: str
    answered: str
    stack_status: str
    prune_status: str
    pruned: str
    left_behind: str
    live_kept: bool
    foreign_kept: bool
    next_deploy: str
    seconds: float
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def synthesize_versions(workdir: Path) -> dict[str, Path]:
    from localcloud.cdk_app import synthesize

    assemblies = {}
    for name, files in (("v1", V1), ("v2", V2)):
        site = workdir / f"site-{name}"
        site.mkdir(parents=True, exist_ok=True)
        for key, body in files.items():
            (site / key).write_text(body)
        assemblies[name] = synthesize(APP, workdir / f"cdk-out-{name}", env={"SITE_DIR": str(site)})
    return assemblies


@contextmanager
def prune_story(cloud: LocalCloudFront, assemblies: dict[str, Path]) -> Iterator[PruneStory]:
    with LocalCloudFormation(
        assemblies["v1"], cloud=cloud, service_timeout=60,
        # The story is the pruning purge's; the rollback-only one has its own tests.
        skip_resources=lambda logical_id: "RollbackPurge" in logical_id,
    ) as stack:
        (bucket,) = stack.buckets.values()
        s3 = boto3.client("s3", endpoint_url=cloud.endpoint_url, region_name=cloud.region,
                          aws_access_key_id="testing",
                          aws_secret_access_key="testing")  # noqa: S106 - local server
        # moto's S3 lives as long as the process: every cell starts from an empty bucket.
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
        yield PruneStory(stack=stack, assemblies=assemblies, s3=s3, bucket=bucket)


def run_prune_cell(cloud: LocalCloudFront, assemblies: dict[str, Path], fault: PruneFault,
                   *, invalidation_seconds: float = 0.6) -> PruneRow:
    """One cell, on a fresh stack; ``invalidation_seconds``: the cloud's usual time, restored
    after a cell that slows CloudFront down."""
    began = time.time()
    problems: list[str] = []
    with prune_story(cloud, assemblies) as story:
        stack = story.stack
        story.s3.put_object(Bucket=story.bucket, Key=FOREIGN, Body=b"x")
        story.upload(V1)
        _must_succeed(stack.deploy("v1", overrides=NOW))
        stack.use_assembly(assemblies["v2"])
        story.upload(V2)
        _must_succeed(stack.deploy("v2", overrides=NOW))
        fault.arm(story)
        if fault.invalidation_seconds is not None:
            cloud.set_invalidation_seconds(fault.invalidation_seconds)
        try:
            outcomes = stack.deploy(f"v2 again: {fault.name}",
                                    overrides={**NOW, "TimeoutSeconds": "900", **fault.overrides},
                                    fail_after=fault.fail_after)
        finally:
            cloud.set_invalidation_seconds(invalidation_seconds)
            cloud.complete_now()
            fault.disarm(story)
        judged = outcomes[-1]
        data = judged.data
        if any(o.status != "SUCCESS" for o in outcomes):
            problems.append("answered " + ", ".join(f"{o.request_type} {o.status}: {o.reason}"
                                                    for o in outcomes))
        if data.get("PruneStatus") != fault.prune_status:
            problems.append(f"PruneStatus {data.get('PruneStatus')!r}, expected "
                            f"{fault.prune_status!r} ({data.get('PruneProblem')})")
        for words in fault.problem_has:
            if words not in data.get("PruneProblem", ""):
                problems.append(f"PruneProblem lacks {words!r}: {data.get('PruneProblem')!r}")
        keys = story.keys()
        live_kept = set(V2) <= keys
        foreign_kept = FOREIGN in keys
        if not live_kept:
            problems.append(f"a live file was deleted: {sorted(set(V2) - keys)}")
        if not foreign_kept:
            problems.append("an object nobody deployed was deleted")
        if (REPLACED not in keys) != fault.bundle_deleted:
            problems.append(f"{REPLACED} {'kept' if REPLACED in keys else 'deleted'}, expected "
                            f"{'deleted' if fault.bundle_deleted else 'kept'}")
        if fault.prune_status != "Skipped" and not logged(judged.logs, "prune",
                                                           ("prune_status", "left_behind")):
            problems.append("no JSON log line 'prune' with prune_status and left_behind")
        expected_stack = "UPDATE_ROLLBACK_COMPLETE" if fault.fail_after else "UPDATE_COMPLETE"
        if stack.stack_status != expected_stack:
            problems.append(f"stack ended {stack.stack_status}, expected {expected_stack}")
        status = stack.stack_status or ""
        # The fault cleared: the next deploy answers SUCCESS and takes the leftovers.
        (after,) = stack.deploy("next deploy", overrides={**NOW, "TimeoutSeconds": "901"})
        gone = REPLACED not in story.keys()
        next_deploy = f"{after.status}, {after.data.get('PruneStatus')}, " \
                      f"{after.data.get('PrunedCount')} deleted"
        if after.status != "SUCCESS" or after.data.get("PruneStatus") != "Pruned":
            problems.append(f"the next deploy: {next_deploy} ({after.reason})")
        if fault.next_deploy_deletes and not gone:
            problems.append(f"the next deploy left {REPLACED} behind")
        if not set(V2) <= story.keys():
            problems.append("the next deploy deleted a live file")
    return PruneRow(
        fault=fault.name,
        answered=", ".join(
            f"{o.request_type}{' (rollback)' if o.step.endswith('(rollback)') else ''} {o.status}"
            for o in outcomes
        ),
        stack_status=status, prune_status=str(data.get("PruneStatus")),
        pruned=str(data.get("PrunedCount")), left_behind=str(data.get("PruneLeftBehind")),
        live_kept=live_kept, foreign_kept=foreign_kept, next_deploy=next_deploy,
        seconds=time.time() - began, problems=problems,
    )


def _must_succeed(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.status != "SUCCESS":
            raise RuntimeError(f"set-up deploy {outcome.step} answered {outcome.status}: "
                               f"{outcome.reason}")


PRUNE_HEADER = """## The prune's faults

Generated by `python -m localcloud.fault_matrix --prune` (the same cells run in
`tests/e2e/test_prune_faults.py`): `examples/safe_site_app.py` at two versions of a site
(v2 replaces v1's bundle `app.1111.js`), deployed through the local CloudFormation, the site
bucket in moto's S3. Each cell deploys v1, then v2, then, under the fault, the deploy whose
prune should delete the bundle (`KeepReplacedSeconds` 0), then, the fault cleared, one more
deploy. Every cell checks that no file of the live version and no object nobody deployed
was deleted, and the `prune` JSON log line; *next deploy* is the answer of the deploy after
the fault (the leftovers picked up). See docs/retention.md.
"""


def prune_markdown(rows: list[PruneRow]) -> str:
    lines = [PRUNE_HEADER,
             "| fault | CloudFormation got | stack | PruneStatus | deleted | left behind | "
             "live files kept | foreign object kept | next deploy | time (s) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.fault} | {r.answered} | {r.stack_status} | {r.prune_status} | "
                     f"{r.pruned} | {r.left_behind} | {'yes' if r.live_kept else 'NO'} | "
                     f"{'yes' if r.foreign_kept else 'NO'} | {r.next_deploy} | "
                     f"{r.seconds:.1f} |")
    lines.append("")
    lines.append(f"{len(rows)} prune cells, {sum(1 for r in rows if not r.ok)} not as "
                 "expected; a prune failed no deploy.")
    for r in rows:
        if not r.ok:
            lines.append(f"- NOT AS EXPECTED: {r.fault}: {'; '.join(r.problems)}")
    return "\n".join(lines)


def run_prune_matrix(workdir: Path, *, invalidation_seconds: float = 0.6) -> list[PruneRow]:
    assemblies = synthesize_versions(workdir)
    with LocalCloudFront(invalidation_seconds=invalidation_seconds) as cloud:
        return [run_prune_cell(cloud, assemblies, fault, invalidation_seconds=invalidation_seconds)
                for fault in PRUNE_FAULTS]

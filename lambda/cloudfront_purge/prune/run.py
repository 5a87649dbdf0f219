"""The prune after the purge: remove what no served version needs, after its retention.

Shared by the handler (``Custom::CloudFrontInvalidation`` with ``PruneBucket``) and the
command-line tool (``purge --changed OLD NEW --prune-bucket``). It runs only once every
invalidation of the deploy is Completed; the callers decide that. What it deletes is
planned by :mod:`cloudfront_purge.prune.plan` (docs/retention.md), its properties parsed by
:mod:`cloudfront_purge.model.prune`; this module reads and
writes the state object, deletes in batches of 1,000 keys, and never raises for an S3
failure: it reports what it left behind, which the next deploy picks up.

The state object is ``<prefix>.cloudfront-purge/prune-state-<id>.json`` in the prune
bucket: one per resource (``id`` digests the stack id and logical id) or per CLI state name.
Another writer's state in the same folder holds the prune (docs/retention.md, "Two writers,
one folder"); :func:`remove_state` is a Delete's, so a deleted resource leaves none behind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from cloudfront_purge.model import prune, rules
from cloudfront_purge.model.base import CloudFrontPurgeError
from cloudfront_purge.model.errors import AwsError
from cloudfront_purge.prune import plan as prune_plan

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

logger = logging.getLogger(__name__)

#: S3 DeleteObjects takes at most 1,000 keys (Amazon S3 API Reference, DeleteObjects).
DELETE_BATCH = 1000
MAX_PROBLEM_CHARS = 200
#: The ``prune`` log line's advice when another writer's state holds the prune.
SHARED_FOLDER_ADVICE = (
    "two resources or pipelines prune this folder, and neither knows which files the other "
    "serves: give each its own prefix (PruneKeyPrefix, --prune-prefix). A state whose "
    "resource was deleted or renamed before it removed its state, whose prune moved to "
    "another folder, or whose pipeline changed --prune-state, is an orphan: delete it "
    "(aws s3 rm s3://<bucket>/<key>), and the next deploy prunes (docs/retention.md)"
)


@dataclass
class PruneOutcome:
    """What one prune did; :meth:`attributes` turns it into the resource's attributes."""

    status: str
    pruned: int = 0
    left_behind: int = 0
    scheduled: int = 0
    problem: str = ""

    def attributes(self) -> dict[str, str]:
        return {
            prune.ATTR_PRUNE_STATUS: self.status,
            prune.ATTR_PRUNED_COUNT: str(self.pruned),
            prune.ATTR_PRUNE_LEFT_BEHIND: str(self.left_behind),
            prune.ATTR_PRUNE_SCHEDULED: str(self.scheduled),
            prune.ATTR_PRUNE_PROBLEM: rules.shorten(self.problem, MAX_PROBLEM_CHARS),
        }


def skipped(reason: str) -> PruneOutcome:
    return PruneOutcome(status=prune.STATUS_SKIPPED, problem=reason)


def run(
    s3: S3Client,
    spec: prune.PruneSpec,
    *,
    state_key: str,
    old: Collection[str] | None,
    new: Collection[str],
    now: float | None = None,
    stop_at: float | None = None,
    may_delete: bool = True,
    hold_reason: str = "",
    clock: Callable[[], float] = time.time,
    trust_old: bool = True,
    owner: str = "",
) -> PruneOutcome:
    """Read the state, delete what expired, write the state back; never raises for S3.

    Args:
        s3: a boto3 S3 client.
        spec: the bucket, prefix and retention.
        state_key: from :meth:`prune.PruneSpec.state_key`.
        old: the previous deploy's manifest keys (None: not known, nothing is deleted).
        new: this deploy's manifest keys.
        now: the deploy's time (default: the clock).
        stop_at: epoch seconds after which no further batch is started (the rest is left
            for the next deploy).
        may_delete: False to only update the state (a rollback).
        hold_reason: why ``may_delete`` is False.
        trust_old: False when ``old`` is a caller's word (the CLI): see
            :func:`cloudfront_purge.prune.plan.plan_prune`.
        owner: :func:`~cloudfront_purge.prune.plan.owner_digest` of the physical resource
            running this prune, recorded in the state for its Delete ("": the CLI's).
    """
    now = clock() if now is None else now
    problems: list[str] = []
    try:
        state = _read_state(s3, spec.bucket, state_key)
    except _S3Failure as exc:
        # Not known what earlier deploys scheduled, and writing would forget it: stop.
        outcome = PruneOutcome(status=prune.STATUS_FAILED, problem=f"prune state: {exc}")
        _log(outcome, spec, state_key)
        return outcome
    except prune_plan.PruneStateError as exc:
        # A state this code cannot read (damaged, or from a newer version) is replaced by a
        # fresh one: the files it listed stay in the bucket (left behind, never deleted
        # wrongly), and pruning works again from this deploy on.
        state = prune_plan.PruneState()
        problems.append(f"prune state unreadable, started afresh ({exc}); files it listed stay")
    try:
        sharing = _other_states(s3, spec, state_key)
    except _S3Failure as exc:
        # Whether another writer serves from this folder is not known: delete nothing.
        sharing = []
        problems.append(f"other prune states not listed, nothing deleted: {exc}")
        may_delete, hold_reason = False, "other prune states not listed"
    plan = prune_plan.plan_prune(
        state, old=old, new=new, now=now, keep_seconds=spec.keep_seconds,
        may_delete=may_delete, hold_reason=hold_reason, trust_old=trust_old, sharing=sharing,
    )
    left: dict[str, float] = {}
    pruned = 0
    for batch in prune_plan.batches(plan.delete, DELETE_BATCH):
        if problems and any("AccessDenied" in p for p in problems):
            left.update({k: state.replaced.get(k, now) for k in batch})
            continue
        if stop_at is not None and clock() >= stop_at:
            left.update({k: state.replaced.get(k, now) for k in batch})
            if not any("no time left" in p for p in problems):
                problems.append("no time left in this invocation")
            continue
        done, failed, problem = _delete_batch(s3, spec, batch)
        pruned += done
        left.update({k: state.replaced.get(k, now) for k in failed})
        if problem:
            problems.append(problem)
    final = replace(prune_plan.with_left_behind(plan.state, left), owner=owner or state.owner)
    try:
        _write_state(s3, spec.bucket, state_key, final)
    except _S3Failure as exc:
        problems.append(f"prune state not written: {exc}")
    if problems:
        status = prune.STATUS_PARTIAL
    elif plan.hold_reason:
        status = prune.STATUS_HELD
    else:
        status = prune.STATUS_PRUNED
    outcome = PruneOutcome(
        status=status,
        pruned=pruned,
        left_behind=len(left),
        scheduled=len(final) - len(left),
        # Another writer's hold lasts until a person acts: it leads, whatever else happened.
        problem="; ".join([plan.hold_reason, *problems] if sharing else problems)
        or plan.hold_reason,
    )
    _log(outcome, spec, state_key, sharing=sharing)
    return outcome


def remove_state(s3: S3Client, spec: prune.PruneSpec, *, state_key: str, owner: str) -> str:
    """A Delete of the resource whose ``owner`` digest is given: remove its prune state, so
    it does not hold other writers of the folder for good; "" or the problem. Never raises.

    A state another physical resource wrote last is kept: CloudFormation deletes a replaced
    resource after its replacement, which shares the state (same stack and logical id) and
    has already written it. A state with no owner (written before owners were recorded) is
    this logical resource's: removed. Site files are never touched.
    """
    try:
        try:
            state = _load_state(s3, spec.bucket, state_key)
        except prune_plan.PruneStateError:
            state = prune_plan.PruneState()  # damaged, at this resource's key: its own
        if state is None:
            return ""
        if state.owner and state.owner != owner:
            logger.info("prune_state_kept", extra={
                "state": state_key, "bucket": spec.bucket,
                "reason": "written last by the resource that replaced this one"})
            return ""
        s3.delete_object(Bucket=spec.bucket, Key=state_key)
    except Exception as exc:  # a Delete never fails for the prune (docs/retention.md)
        problem = str(exc) if isinstance(exc, _S3Failure) else _problem(exc)
        logger.warning("prune_state_not_removed", extra={
            "problem": problem, "state": state_key, "bucket": spec.bucket,
            "advice": "if another resource or pipeline prunes this folder, delete the state "
            "object by hand: it holds their prune (docs/retention.md)"})
        return problem
    logger.info("prune_state_removed", extra={"state": state_key, "bucket": spec.bucket})
    return ""


def mark_missed(
    s3: S3Client, spec: prune.PruneSpec, *, state_key: str, served: Collection[str] | None = None
) -> str:
    """Record in the state that a deploy went by without a prune; "" or the problem.

    A deploy whose purge timed out (``OnTimeout: succeed``) served files the state cannot
    see. Two such deploys that leave and come back to the same key set (a revert, then
    the version before it) would look to the state like no deploy at all, and a file the
    revert served would be deleted with its old stamp. Marked, the next deploy holds and
    restamps (docs/retention.md, rule 5). No state yet: nothing is scheduled to protect.
    ``served``: the keys the deploy served, if known; the very key set the state last saw
    needs no mark (none of the keys it schedules was served again).
    """
    try:
        state = _read_state(s3, spec.bucket, state_key)
        if not state.replaced and not state.seen:
            return ""
        if served is not None and state.seen == prune_plan.key_set_digest(served):
            return ""
        _write_state(s3, spec.bucket, state_key, replace(state, seen=prune_plan.SEEN_MISSED))
    except (_S3Failure, prune_plan.PruneStateError) as exc:
        logger.warning("prune_state_not_marked", extra={
            "problem": str(exc), "state": state_key,
            "consequence": "a later deploy may delete a file this deploy served sooner "
            "than its retention"})
        return str(exc)
    return ""


class _S3Failure(CloudFrontPurgeError):
    """An S3 call of the prune failed (caught inside this module; never escapes)."""


def _problem(exc: BaseException) -> str:
    error = AwsError.of(exc)
    if error is not None:
        return f"{error.operation} failed with {error.code}: {error.message}"
    return f"{type(exc).__name__}: {exc}"


def _read_state(s3: S3Client, bucket: str, key: str) -> prune_plan.PruneState:
    """The state, or an empty one when there is none yet (:func:`_load_state`)."""
    return _load_state(s3, bucket, key) or prune_plan.PruneState()


def _load_state(s3: S3Client, bucket: str, key: str) -> prune_plan.PruneState | None:
    """The state, or None when there is none.

    Whether it exists is asked with ListObjectsV2 (prefix = the state's key), which the
    provider may call only with that prefix (``s3:ListBucket`` conditioned on ``s3:prefix``):
    a GetObject of a missing key would answer AccessDenied, not NoSuchKey, to a caller whose
    ListBucket grant carries a condition the GetObject request cannot meet (Amazon S3 API
    Reference, GetObject, "Permissions").
    """
    try:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        if not any(item.get("Key") == key for item in listed.get("Contents", [])):
            return None
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:  # every failure is reported, never raised to the deploy
        error = AwsError.of(exc)
        if error is not None and error.code in ("NoSuchKey", "404"):
            return None  # deleted between the listing and the read
        raise _S3Failure(f"s3://{bucket}/{key} cannot be read ({_problem(exc)})") from exc
    return prune_plan.loads(body, source=f"s3://{bucket}/{key}")


def _other_states(s3: S3Client, spec: prune.PruneSpec, state_key: str) -> list[tuple[str, str]]:
    """(key, day last written or "") of every prune state in the folder but ``state_key``.

    One ListObjectsV2 of the state folder, whose 1,000 keys are far more writers than any
    folder has; a longer listing only means more of them (the first page names enough).
    """
    folder = spec.state_folder
    try:
        listed = s3.list_objects_v2(
            Bucket=spec.bucket, Prefix=f"{folder}{prune.STATE_OBJECT_START}", MaxKeys=1000
        )
    except Exception as exc:  # reported; the prune then deletes nothing
        raise _S3Failure(f"s3://{spec.bucket}/{folder}: {_problem(exc)}") from exc
    others: list[tuple[str, str]] = []
    for item in listed.get("Contents", []):
        key = str(item.get("Key", ""))
        if key == state_key or not prune_plan.is_state_name(key.removeprefix(folder)):
            continue
        modified = item.get("LastModified")
        others.append((key, modified.strftime("%Y-%m-%d") if modified else ""))
    return others


def _write_state(s3: S3Client, bucket: str, key: str, state: prune_plan.PruneState) -> None:
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=prune_plan.dumps(state).encode("utf-8"),
            ContentType="application/json",
        )
    except Exception as exc:  # reported in the attributes; the next deploy tries again
        raise _S3Failure(f"s3://{bucket}/{key}: {_problem(exc)}") from exc


def _delete_batch(
    s3: S3Client, spec: prune.PruneSpec, batch: list[str]
) -> tuple[int, list[str], str]:
    """(deleted, keys that failed, problem). A key that no longer exists counts as deleted:
    S3 answers DeleteObjects for it as Deleted."""
    by_object = {spec.object_key(k): k for k in batch}
    try:
        answer = s3.delete_objects(
            Bucket=spec.bucket,
            Delete={"Objects": [{"Key": k} for k in by_object], "Quiet": True},
        )
    except Exception as exc:  # the whole batch stays for the next deploy
        return 0, batch, _problem(exc)
    errors = answer.get("Errors") or []
    failed = [by_object[e["Key"]] for e in errors if e.get("Key") in by_object]
    problem = ""
    if errors:
        first = errors[0]
        problem = (
            f"DeleteObjects left {len(errors)} key(s), first {first.get('Key')!r}: "
            f"{first.get('Code')}: {first.get('Message')}"
        )
    return len(batch) - len(failed), failed, problem


def _log(
    outcome: PruneOutcome,
    spec: prune.PruneSpec,
    state_key: str,
    *,
    sharing: list[tuple[str, str]] | None = None,
) -> None:
    # A folder shared with another writer holds every deploy until a person acts: a warning.
    warn = outcome.status in (prune.STATUS_PARTIAL, prune.STATUS_FAILED) or bool(sharing)
    logger.log(
        logging.WARNING if warn else logging.INFO,
        "prune",
        extra={
            "prune_status": outcome.status,
            "pruned": outcome.pruned,
            "left_behind": outcome.left_behind,
            "scheduled": outcome.scheduled,
            "problem": outcome.problem,
            "bucket": spec.bucket,
            "key_prefix": spec.key_prefix,
            "state": state_key,
            "keep_seconds": spec.keep_seconds,
            **(
                {"advice": "the next deploy deletes what was left behind"}
                if outcome.left_behind or outcome.status == prune.STATUS_FAILED
                else {}
            ),
            **({"other_states": [key for key, _ in sharing], "advice": SHARED_FOLDER_ADVICE}
               if sharing else {}),
        },
    )

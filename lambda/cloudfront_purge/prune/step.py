"""The handler's glue around :mod:`cloudfront_purge.prune` (docs/retention.md).

- :func:`parse`: the prune and OnTimeout properties of a request, checked before any purge.
- :func:`after_purge`: called once every invalidation of the deploy is Completed (or when
  no file changed, so nothing was purged): reads this deploy's and the previous deploy's
  manifests and prunes. A rollback's Update only updates the state (it deletes nothing).
- :func:`timed_out`: the attributes of a SUCCESS under ``OnTimeout: succeed``.
- :func:`complete`: every SUCCESS of a pruning resource carries every prune attribute.
- :func:`deleted`: a Delete removes the resource's own prune state (never a site file), so
  it does not hold another writer of the folder for good.

Nothing here raises for an S3 failure: a prune never fails the deploy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cloudfront_purge.changed import manifest, s3_plan
from cloudfront_purge.model import prune, rules
from cloudfront_purge.prune import plan as prune_plan
from cloudfront_purge.prune import run as prune_run

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

REASON_NOT_COMPLETED = "the purge did not reach Completed: nothing is pruned"
REASON_NOT_RUN = "no prune on this request (a Create that purged nothing, or a purge that " \
    "did not reach Completed)"
REASON_ROLLBACK = "a rollback deletes nothing; it only reschedules"
REASON_SKIPPED_CREATE = "nothing purged on this Create, so nothing pruned"


@dataclass(frozen=True)
class Options:
    """A request's prune (None: off) and what a timeout means."""

    prune: prune.PruneSpec | None
    on_timeout: str

    @property
    def succeed_on_timeout(self) -> bool:
        return self.on_timeout == prune.ON_TIMEOUT_SUCCEED


def parse(props: Mapping[str, object]) -> Options:
    """Raises RuleError naming the property (see :func:`prune.parse_prune`)."""
    return Options(prune=prune.parse_prune(props), on_timeout=prune.parse_on_timeout(props))


def state_identity(event: Mapping[str, Any]) -> str:
    """One state per resource: the stack and the logical id (a replacement of the resource
    keeps its state; another resource never shares it)."""
    return f"{event['StackId']}|{event['LogicalResourceId']}"


def after_purge(
    event: Mapping[str, Any],
    options: Options,
    s3: Callable[[], S3Client],
    *,
    rollback: bool,
    stop_at: float | None,
    physical_id: str,
) -> dict[str, str]:
    """Prune after a Completed purge; the prune attributes (empty when prune is off).

    ``physical_id``: the one this request answers, recorded (as a digest) in the state so
    that only this physical resource's Delete removes it (:func:`deleted`).
    """
    if options.prune is None:
        return {}
    try:
        return _after_purge(event, options.prune, s3, rollback=rollback, stop_at=stop_at,
                            owner=prune_plan.owner_digest(physical_id))
    except Exception as exc:  # a prune never fails the deploy (docs/retention.md)
        outcome = prune_run.PruneOutcome(
            status=prune.STATUS_FAILED, problem=f"{type(exc).__name__}: {exc}"
        )
        logger.warning("prune", extra={"prune_status": outcome.status, "pruned": 0,
                                       "left_behind": 0, "problem": outcome.problem})
        return outcome.attributes()


def _after_purge(
    event: Mapping[str, Any],
    spec: prune.PruneSpec,
    s3: Callable[[], S3Client],
    *,
    rollback: bool,
    stop_at: float | None,
    owner: str,
) -> dict[str, str]:
    props = event.get("ResourceProperties", {})
    state_key = spec.state_key(state_identity(event))
    new_location = s3_plan.parse_changed_only(props).manifest
    assert new_location is not None  # parse_prune requires OnlyChanged, which requires it
    try:
        new = s3_plan.fetch_manifest(s3, new_location)
    except manifest.ManifestError as exc:
        return prune_run.PruneOutcome(
            status=prune.STATUS_FAILED,
            problem=f"this deploy's manifest cannot be read, so nothing is pruned: {exc}",
        ).attributes()
    old, hold = _old_keys(event, spec, s3)
    outcome = prune_run.run(
        s3(),
        spec,
        state_key=state_key,
        old=old,
        new=new.files.keys(),
        stop_at=stop_at,
        may_delete=not rollback and not hold,
        hold_reason=REASON_ROLLBACK if rollback else hold,
        owner=owner,
    )
    return outcome.attributes()


def _old_keys(
    event: Mapping[str, Any], spec: prune.PruneSpec, s3: Callable[[], S3Client]
) -> tuple[list[str] | None, str]:
    """The previous deploy's keys, or None and why they are not known."""
    if event.get("RequestType") != "Update":
        return None, "a Create: the previous deploy's files are not known"
    old_props = event.get("OldResourceProperties") or {}
    try:
        previous = s3_plan.parse_changed_only(old_props)
        previous_prune = prune.parse_prune(old_props)
    except rules.RuleError as exc:
        return None, f"the previous deploy's properties cannot be used: {exc}"
    if previous_prune is not None and (
        previous_prune.bucket != spec.bucket or previous_prune.key_prefix != spec.key_prefix
    ):
        return None, "the prune bucket or prefix changed: the old files are elsewhere"
    if previous.manifest is None:
        return None, "the previous deploy had no manifest"
    try:
        keys = list(s3_plan.fetch_manifest(s3, previous.manifest).files)
    except manifest.ManifestError as exc:
        return None, f"the previous deploy's manifest cannot be read: {exc}"
    if previous_prune is None:
        # The prune was off: the deploys before this one are unknown to the state (a revert
        # among them may have served a key it lists), and the state's record of the last
        # version cannot tell when they come back to the same files.
        return keys, "the previous deploy did not prune: this deploy only reschedules"
    return keys, ""


#: What :func:`_old_keys` reads of OldResourceProperties: small scalars, carried to the next
#: leg of a handed-off wait (which drops the rest of OldResourceProperties for size) so the
#: prune after a long wait still knows what the previous deploy served.
_RESUME_OLD_PROPERTIES = frozenset(
    {
        rules.PROP_ONLY_CHANGED,
        rules.PROP_MANIFEST,
        rules.PROP_INDEX_DOCUMENT,
        rules.PROP_URL_PREFIX,
        rules.PROP_MAX_PATHS,
        rules.PROP_WAIT_FOR_COMPLETION,
        *rules.PRUNE_PROPS,
    }
)


def resume_old_properties(event: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the event's OldResourceProperties the prune needs, for a next leg
    (empty when this resource does not prune)."""
    if event.get("ResourceProperties", {}).get(rules.PROP_PRUNE_BUCKET) in (None, ""):
        return {}
    old = event.get("OldResourceProperties")
    if not isinstance(old, Mapping):
        return {}
    return {k: v for k, v in old.items() if k in _RESUME_OLD_PROPERTIES}


def not_run(options: Options, reason: str) -> dict[str, str]:
    """The prune attributes of an answer whose prune did not run."""
    if options.prune is None:
        return {}
    return prune_run.skipped(reason).attributes()


def missed(event: Mapping[str, Any], options: Options, s3: Callable[[], S3Client]) -> None:
    """A deploy answered without a prune (a purge that timed out): tell the state, so the
    next deploy holds (:func:`prune_run.mark_missed`). Never raises."""
    if options.prune is None:
        return
    try:
        served: list[str] | None = None
        try:
            location = s3_plan.parse_changed_only(event.get("ResourceProperties", {}))
            if location.manifest is not None:
                served = list(s3_plan.fetch_manifest(s3, location.manifest).files)
        except (rules.RuleError, manifest.ManifestError):
            served = None  # not known: mark
        prune_run.mark_missed(s3(), options.prune, served=served,
                          state_key=options.prune.state_key(state_identity(event)))
    except Exception as exc:  # a prune never fails the deploy (docs/retention.md)
        logger.warning("prune_state_not_marked", extra={"problem": f"{type(exc).__name__}: {exc}"})


def missed_by_failure(event: Mapping[str, Any], s3: Callable[[], S3Client]) -> None:
    """An Update of a pruning resource that ends without its prune (FAILED, or a rollback
    answered SUCCESS after its purge failed) still changed what is served: mark the state
    (:func:`missed`). Properties that cannot be parsed: nothing to mark. Never raises."""
    if event.get("RequestType") != "Update":
        return
    try:
        options = parse(event.get("ResourceProperties", {}))
    except Exception:  # bad properties: the answer says so; no prune to speak of
        return
    missed(event, options, s3)


def deleted(event: Mapping[str, Any], s3: Callable[[], S3Client]) -> None:
    """A Delete of a pruning resource: remove its prune state unless the resource that
    replaced it wrote it last (:func:`prune_run.remove_state`). Site files stay, as before.
    Properties that cannot be parsed: nothing to remove. Never raises."""
    try:
        spec = prune.parse_prune(event.get("ResourceProperties", {}))
    except Exception:  # a resource whose prune never ran: no state of its own
        return
    if spec is None:
        return
    try:
        prune_run.remove_state(s3(), spec, state_key=spec.state_key(state_identity(event)),
                           owner=prune_plan.owner_digest(str(event["PhysicalResourceId"])))
    except Exception as exc:  # a Delete never fails for the prune (docs/retention.md)
        logger.warning("prune_state_not_removed", extra={
            "problem": f"{type(exc).__name__}: {exc}"})


def timed_out(problem: str) -> dict[str, str]:
    """The Warning of a SUCCESS answered for a purge that timed out (``OnTimeout``).

    Short and fixed: ``PurgeProblem`` already carries the timeout's message, and the whole
    answer must fit CloudFormation's 4,096 bytes.
    """
    del problem  # in PurgeProblem
    return {
        prune.ATTR_WARNING: "purge timed out, answered SUCCESS (OnTimeout: succeed): the "
        "invalidations go on; nothing pruned; see PurgeProblem"
    }


def complete(data: MutableMapping[str, str], props: Mapping[str, object]) -> None:
    """Every attribute a GetAtt of this resource may ask for, present (empty if unset).

    Tolerant of bad properties: the answer is being built already.
    """
    if props.get(rules.PROP_PRUNE_BUCKET) not in (None, ""):
        if prune.ATTR_PRUNE_STATUS not in data:
            data.update(prune_run.skipped(REASON_NOT_RUN).attributes())
    if props.get(rules.PROP_ON_TIMEOUT) not in (None, ""):
        data.setdefault(prune.ATTR_WARNING, "")

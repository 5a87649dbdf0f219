"""The lifecycle of ``Custom::CloudFrontInvalidation``: Create, Update and Delete.

It parses a request's properties (``model``), plans what to purge (``changed``), runs the
purge (``engine``), decides whether an Update is a rollback (``function.stack_status``),
hands a long wait off to the next invocation and resumes it, prunes after a Completed purge
(``prune.step``), and builds the one answer CloudFormation gets (``function.responder``).

Lambda's entry point is ``cloudfront_purge.function.entry.handler``, which loads this module
under a guard and calls its ``handler``.

Lifecycle:
- Create / Update: purge (rules + engine), wait for Completed, answer SUCCESS with the ids.
  What is purged is planned first (``changed.s3_plan``): ``Paths``, or with OnlyChanged only
  the URLs of the files that changed between the old and the new manifest; nothing at all
  when no file changed, or when an Update changes only settings such as TimeoutSeconds
  (SUCCESS at once, Status Skipped; ``changed.plan.settings_only_change``). The plan rides
  along a hand-off.
  A wait that outlasts this invocation hands off: the function invokes itself
  asynchronously with the same event plus a continuation (deadline, invalidation ids) and
  returns without answering; the last leg answers. See docs/design.md, "Waiting past 15 minutes".
- Update during a rollback (DescribeStacks on the event's StackId says
  UPDATE_ROLLBACK_IN_PROGRESS): purge and wait as usual, but always answer SUCCESS. A
  FAILED answer would leave the stack UPDATE_ROLLBACK_FAILED, which only a person can
  repair, by skipping this resource and so its purge anyway: a stale cache is the lesser
  harm. The problem goes to the log (``rollback_purge_unconfirmed``) and to the
  PurgeConfirmed / PurgeProblem attributes. docs/troubleshooting.md.
- With PruneBucket (docs/retention.md): once every invalidation is Completed, delete what
  earlier deploys replaced and retention let go (``prune.step``); a failed prune is SUCCESS
  with PruneStatus / PruneLeftBehind. With OnTimeout "succeed", a purge that times out is
  SUCCESS with a Warning, and nothing is pruned.
- Delete: SUCCESS at once. Nothing to undo: an invalidation cannot be cancelled, and a
  purge on delete only fails stacks (aws-cdk issue 4223). A pruning resource removes its
  own prune state first (never a site file; ``prune.step.deleted``), so another resource
  or pipeline pruning the same folder is not held by it for good.

Logs: Lambda's JSON log format (the provider sets ``logging_format`` JSON), one line per
event, the event name as the message and its fields as ``extra``, which Lambda's formatter
writes as top-level JSON keys (docs/troubleshooting.md). The ResponseURL is never logged.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config

from cloudfront_purge import __version__, engine
from cloudfront_purge.changed import plan as purge_plan
from cloudfront_purge.changed import s3_plan
from cloudfront_purge.function.responder import (
    deliver,
    response_data,
    unconfirmed,
)
from cloudfront_purge.function.stack_status import stack_status
from cloudfront_purge.model import rules
from cloudfront_purge.model.errors import AwsError, PurgeError, PurgeTimeout
from cloudfront_purge.prune import step as prune_step
from cloudfront_purge.resource._crhelper import Lifecycle

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

#: Key the hand-off adds to the event; CloudFormation never sends it.
CONTINUATION = "CloudFrontInvalidationContinuation"
#: A runaway chain of hand-offs is a bug; the deadline stops it long before this.
MAX_LEGS = 20
USER_AGENT = f"cdk-cloudfront-invalidation/{__version__}"
#: Function environment settings that override the engine's eventual-consistency windows
#: (seconds, 0 to MAX_WINDOW_SETTING_SECONDS); docs/troubleshooting.md.
IAM_WAIT_VARIABLE = "CLOUDFRONT_PURGE_IAM_WAIT_SECONDS"
NOT_FOUND_WAIT_VARIABLE = "CLOUDFRONT_PURGE_NOT_FOUND_WAIT_SECONDS"
MAX_WINDOW_SETTING_SECONDS = 600.0


class LambdaContext(Protocol):
    """The parts of Lambda's context object this handler reads."""

    invoked_function_arn: str
    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass
class Request:
    """One request's state: made by ``handler`` for each invocation and passed along, so
    nothing of one request outlives it (``_crhelper.Answer``)."""

    #: The PhysicalResourceId to answer; an Update's FAILED keeps the event's.
    physical_id: str = ""
    #: The answer's attributes (``responder.response_data``).
    data: dict[str, str] = field(default_factory=dict)
    #: The Reason of a SUCCESS (a rollback's unconfirmed purge says why).
    reason: str = ""
    #: Set once this request is known to be a rollback's Update: it must not fail.
    rollback: Rollback | None = None
    #: What this request purges and why (s3_plan); None until planned.
    plan: purge_plan.PurgePlan | None = None


class Rollback:
    """What a rollback's Update has purged so far, so any ending can answer SUCCESS with
    every attribute and say what is unconfirmed."""

    def __init__(self, spec: rules.PurgeSpec | None, jobs: list[engine.Job]) -> None:
        self.spec = spec
        self.jobs = jobs

    def settle(self, request: Request, problem: str) -> None:
        """Fill the answer's attributes and Reason, and log the unconfirmed purge."""
        ids = [j.invalidation_id for j in self.jobs if j.invalidation_id]
        submitted = bool(self.jobs) and all(j.accepted for j in self.jobs)
        distributions = list(self.spec.distribution_ids) if self.spec else []
        tenants = list(self.spec.distribution_tenant_ids) if self.spec else []
        request.reason, data = unconfirmed(
            problem,
            invalidation_ids=ids,
            caller_references=[j.caller_reference for j in self.jobs],
            submitted=submitted,
            distribution_ids=distributions,
            distribution_tenant_ids=tenants,
            path_count=len(self.spec.paths) if self.spec else 0,
            scope=s3_plan.attributes(request.plan) if request.plan else None,
        )
        request.data.update(data)


if not logging.root.handlers:  # pragma: no cover - Lambda installs one; local runs may not
    logging.basicConfig()

# The lifecycle (crhelper, confined to resource/_crhelper.py). Answers go through
# ``deliver`` as this module names it when they are sent.
lifecycle: Lifecycle[Request] = Lifecycle(lambda url, body: deliver(url, body))
# Once per cold start (the lifecycle has just set the INFO level): which code answers from here
# on, so a reader of the function's log group can tell releases apart (docs/releasing.md).
logger.info("cold_start", extra={"version": __version__})
# The engine retries with its own backoff and deadline; botocore must not add waits. The
# timeouts bound one call, which sizes the hand-off margin below.
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra=USER_AGENT,
)
_INVOKE_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 2},
    connect_timeout=2,
    read_timeout=5,
    user_agent_extra=USER_AGENT,
)
#: Reading a manifest (changed-only purges) retries a little: a failed read means a full
#: purge, which costs the whole cache.
_S3_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra=USER_AGENT,
)
cloudfront = boto3.client("cloudfront", config=_CLIENT_CONFIG)
#: Built on the first Update only (Creates never ask), to keep the cold start at one client.
cloudformation: CloudFormationClient | None = None
#: Built on the first manifest read only (OnlyChanged updates).
s3: S3Client | None = None


def s3_client() -> S3Client:
    global s3
    if s3 is None:
        s3 = boto3.client("s3", config=_S3_CONFIG)
    return s3


def handoff_margin(remaining: float) -> float:
    """Seconds kept back at the end of an invocation to hand off cleanly.

    The engine stops within one CloudFront call of the margin (at most 3 + 10 s), then the
    self-invocation takes at most 2 x (2 + 5) s, and the lifecycle's timer fires 0.5 s before
    the end: a full-size invocation keeps 45 s; a short one (local runs) keeps a fifth.
    """
    return min(45.0, max(2.0, remaining * 0.2))


@lifecycle.create
def create(event: dict[str, Any], context: LambdaContext, request: Request) -> str:
    return _purge(event, context, request)


@lifecycle.update
def update(event: dict[str, Any], context: LambdaContext, request: Request) -> str:
    return _purge(event, context, request)


@lifecycle.delete
def delete(event: dict[str, Any], _context: LambdaContext, _request: Request) -> str:
    logger.info("delete", extra={"note": "nothing to purge or undo"})
    prune_step.deleted(event, s3_client)
    return str(event["PhysicalResourceId"])


@lifecycle.on_timeout
def timed_out(request: Request, problem: str) -> tuple[str, str]:
    """The answer when the invocation ends before one went out: FAILED, except during a
    rollback (module docstring)."""
    if request.rollback is not None:
        request.rollback.settle(request, problem)
        return "SUCCESS", request.reason
    return "FAILED", problem


def handler(event: dict[str, Any], context: LambdaContext) -> None:
    lifecycle(event, context, Request())


def timing(environ: Mapping[str, str] = os.environ) -> engine.Timing:
    """The engine's timing, with the windows the function's environment may override.

    Raises:
        RuleError: a setting that is not a number of seconds within range, named.
    """
    windows = {
        "iam_wait": engine.IAM_PROPAGATION_WINDOW_SECONDS,
        "not_found_wait": engine.NEW_INVALIDATION_VISIBILITY_SECONDS,
    }
    settings = ((IAM_WAIT_VARIABLE, "iam_wait"), (NOT_FOUND_WAIT_VARIABLE, "not_found_wait"))
    for variable, name in settings:
        raw = environ.get(variable)
        if raw is None or not raw.strip():
            continue
        try:
            seconds = float(raw)
        except ValueError:
            seconds = float("nan")
        if not 0 <= seconds <= MAX_WINDOW_SETTING_SECONDS:
            raise rules.RuleError(
                f"the function's environment variable {variable} is {raw!r}; it must be a "
                f"number of seconds from 0 to {MAX_WINDOW_SETTING_SECONDS:g}"
            )
        windows[name] = seconds
    return engine.Timing(iam_wait=windows["iam_wait"], not_found_wait=windows["not_found_wait"])


def _purge(event: dict[str, Any], context: LambdaContext, request: Request) -> str:
    started = time.time()
    request_type = event["RequestType"]
    continuation: Mapping[str, Any] = event.get(CONTINUATION) or {}
    if request_type == "Update":
        # A FAILED update must keep the old id; only SUCCESS may move it.
        request.physical_id = event["PhysicalResourceId"]
        if _is_rollback(event, continuation):
            request.rollback = Rollback(None, [])
    try:
        physical_id = _purge_as_asked(event, context, started, continuation, request)
    except Exception as exc:
        # No prune ran, but files may have been served: the state must not take the next
        # deploy for the one after the last it saw (docs/retention.md, rule 5).
        prune_step.missed_by_failure(event, s3_client)
        rollback = request.rollback
        if rollback is None:
            raise
        # Whatever went wrong, during a rollback the answer is SUCCESS (module docstring).
        rollback.settle(request, _problem(exc))
        physical_id = request.physical_id
    # A pruning resource's every SUCCESS carries the prune attributes (docs/retention.md).
    prune_step.complete(request.data, event.get("ResourceProperties", {}))
    return physical_id


def _purge_as_asked(
    event: dict[str, Any],
    context: LambdaContext,
    started: float,
    continuation: Mapping[str, Any],
    request: Request,
) -> str:
    request_type = event["RequestType"]
    spec = rules.parse_properties(event.get("ResourceProperties", {}))
    pruning = prune_step.parse(event.get("ResourceProperties", {}))
    physical_id = rules.physical_resource_id(
        stack_id=event["StackId"],
        logical_id=event["LogicalResourceId"],
        distribution_ids=spec.distribution_ids,
        distribution_tenant_ids=spec.distribution_tenant_ids,
    )
    if request_type == "Create":
        request.physical_id = physical_id
    only_in_rollback = rules.parse_bool(
        event.get("ResourceProperties", {}).get(rules.PROP_ONLY_IN_ROLLBACK, False),
        field=rules.PROP_ONLY_IN_ROLLBACK,
    )
    if only_in_rollback and request.rollback is None:
        # Its purge is for rollbacks only: it runs after the rolled-back uploads put the old
        # files back (rules.PROP_ONLY_IN_ROLLBACK).
        request.data.update(_skipped(spec, 0, s3_plan.attributes(None)))
        logger.info("skipped", extra={"reason": "OnlyInRollback: not a rollback"})
        return physical_id
    if request_type == "Create" and not spec.invalidate_on_create:
        # Every attribute is present, so a GetAtt on any of them works on this deploy too.
        request.data.update(_skipped(spec, len(spec.paths), s3_plan.attributes(None)))
        logger.info("skipped", extra={"reason": "InvalidateOnCreate is false"})
        return physical_id

    # What to purge: Paths, or only what changed (docs/changed-only.md).
    plan = s3_plan.from_continuation(continuation, spec.paths)
    if plan is None:
        plan = s3_plan.plan_for(event, spec.paths, s3_client)
    request.plan = plan
    if not plan.paths:
        request.data.update(_skipped(spec, 0, s3_plan.attributes(plan)))
        logger.info("nothing_to_purge", extra={"reason": plan.reason})
        # No invalidation to wait for: retention still runs its course.
        request.data.update(_prune(event, context, pruning, started, request, physical_id))
        return physical_id
    if not plan.is_full:
        spec = replace(spec, paths=tuple(rules.normalize_paths(plan.paths)))

    leg = int(continuation.get("Leg", 1))
    deadline = float(continuation.get("Deadline", started + spec.timeout_seconds))
    remaining = context.get_remaining_time_in_millis() / 1000.0
    jobs = engine.plan_jobs(spec, request_id=event["RequestId"])
    waits = timing()
    if request.rollback is not None:
        request.rollback.spec, request.rollback.jobs = spec, jobs
    margin = handoff_margin(remaining)
    if remaining <= margin:
        # Nothing could be called before handing off, and the next leg would start the same
        # way: a chain of legs that never reach CloudFront. Say why, once.
        known = continuation.get("Known") or {}
        raise PurgeError(
            f"this invocation started with {remaining:.1f} s left, no more than the "
            f"{margin:.1f} s it keeps back to hand the wait to a new invocation, so it could not "
            "call CloudFront; give the provider function a longer timeout (the construct sets "
            "15 minutes); invalidations so far: "
            f"{', '.join(known.values()) or '(none)'}"
        )
    logger.info(
        "purge",
        extra={
            "request_type": request_type,
            "rollback": request.rollback is not None,
            "leg": leg,
            "distributions": list(spec.distribution_ids),
            "distribution_tenants": list(spec.distribution_tenant_ids),
            "paths": len(spec.paths),
            "batches": len(jobs),
            "wait_for_completion": spec.wait_for_completion,
            "deadline_in_s": round(deadline - started, 1),
        },
    )
    try:
        result = engine.purge(
            cloudfront,
            jobs,
            deadline=deadline,
            timeout_seconds=spec.timeout_seconds,
            wait=spec.wait_for_completion,
            stop_at=started + remaining - margin,
            known=continuation.get("Known"),
            timing=waits,
            report=_log_progress(started, waits),
            first_calls=continuation.get("FirstCalls"),
        )
    except PurgeTimeout as exc:
        if not pruning.succeed_on_timeout or request.rollback is not None:
            raise
        prune_step.missed(event, pruning, s3_client)
        return _succeed_timed_out(spec, jobs, plan, pruning, exc, physical_id, request)
    if not result.finished:
        _hand_off(event, context, deadline=deadline, result=result, leg=leg, request=request)
        return physical_id
    request.data.update(
        response_data(
            invalidation_ids=result.invalidation_ids,
            caller_references=result.caller_references,
            status=result.status,
            distribution_ids=spec.distribution_ids,
            distribution_tenant_ids=spec.distribution_tenant_ids,
            path_count=len(spec.paths),
            scope=s3_plan.attributes(plan),
        )
    )
    if result.status == engine.COMPLETED:
        request.data.update(_prune(event, context, pruning, started, request, physical_id))
    else:
        request.data.update(prune_step.not_run(pruning, prune_step.REASON_NOT_COMPLETED))
    logger.info(
        "done",
        extra={
            "purge_status": result.status,
            "invalidations": result.invalidation_ids,
            "seconds": round(time.time() - started, 3),
        },
    )
    return physical_id


def _prune(
    event: Mapping[str, Any],
    context: LambdaContext,
    pruning: prune_step.Options,
    started: float,
    request: Request,
    physical_id: str,
) -> dict[str, str]:
    """Prune after a Completed purge (docs/retention.md), within this invocation's time;
    ``physical_id`` is the one this request answers."""
    if pruning.prune is None:
        return {}
    remaining = context.get_remaining_time_in_millis() / 1000.0
    return prune_step.after_purge(
        event,
        pruning,
        s3_client,
        rollback=request.rollback is not None,
        stop_at=time.time() + remaining - handoff_margin(remaining),
        physical_id=physical_id,
    )


def _succeed_timed_out(
    spec: rules.PurgeSpec,
    jobs: list[engine.Job],
    plan: purge_plan.PurgePlan,
    pruning: prune_step.Options,
    exc: PurgeTimeout,
    physical_id: str,
    request: Request,
) -> str:
    """SUCCESS for a purge that timed out, under OnTimeout: succeed: the invalidation ids,
    PurgeConfirmed false and a Warning; nothing pruned."""
    problem = str(exc)
    request.data.update(
        response_data(
            invalidation_ids=[j.invalidation_id for j in jobs if j.invalidation_id],
            caller_references=[j.caller_reference for j in jobs],
            status=engine.IN_PROGRESS,
            distribution_ids=spec.distribution_ids,
            distribution_tenant_ids=spec.distribution_tenant_ids,
            path_count=len(spec.paths),
            problem=problem,
            scope=s3_plan.attributes(plan),
        )
    )
    request.data.update(prune_step.timed_out(problem))
    request.data.update(prune_step.not_run(pruning, prune_step.REASON_NOT_COMPLETED))
    logger.warning(
        "timed_out_answered_success",
        extra={"problem": problem, "invalidations": request.data[rules.ATTR_INVALIDATION_IDS]},
    )
    return physical_id


def _is_rollback(event: Mapping[str, Any], continuation: Mapping[str, Any]) -> bool:
    """Whether this Update is CloudFormation rolling back, asked once per request.

    Anything but a clear answer (AccessDenied without the grant, throttling, a timeout)
    counts as a normal update: the purge then fails as it would have without this check.
    """
    if "Rollback" in continuation:
        return bool(continuation["Rollback"])
    status = stack_status(
        event,
        cloudformation_client,
        consequence="treated as a normal update: a failed purge fails it",
        advice="grant cloudformation:DescribeStacks on this stack to the provider's role "
        "(CloudFrontInvalidationProvider.grant_rollback_detection)",
    )
    if status is None:
        return False
    logger.info("stack_status", extra={"stack_status": status})
    return status == rules.ROLLBACK_STACK_STATUS


def cloudformation_client() -> CloudFormationClient:
    global cloudformation
    if cloudformation is None:
        cloudformation = boto3.client("cloudformation", config=_CLIENT_CONFIG)
    return cloudformation


def _problem(exc: BaseException) -> str:
    error = AwsError.of(exc)
    if error is not None:
        return f"{error.operation} failed with {error.code}: {error.message}"
    if isinstance(exc, PurgeError | rules.RuleError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _skipped(spec: rules.PurgeSpec, path_count: int, scope: Mapping[str, str]) -> dict[str, str]:
    """The attributes of an answer that purged nothing: every one present, so a GetAtt on
    any of them works on this deploy too."""
    return response_data(
        invalidation_ids=[],
        caller_references=[],
        status=rules.STATUS_SKIPPED,
        distribution_ids=spec.distribution_ids,
        distribution_tenant_ids=spec.distribution_tenant_ids,
        path_count=path_count,
        scope=scope,
    )


def _hand_off(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    deadline: float,
    result: engine.PurgeResult,
    leg: int,
    request: Request,
) -> None:
    known = result.known
    if leg >= MAX_LEGS:
        raise PurgeError(f"gave up after {leg} invocations of waiting; invalidations: {known}")
    # OldResourceProperties is not needed to resume; leaving it out keeps the payload
    # under the asynchronous invocation size limit for large path lists.
    payload = {
        **{k: v for k, v in event.items() if k not in (CONTINUATION, "OldResourceProperties")},
        # ...except what the prune reads of it: the previous deploy's manifest and prune.
        **(
            {"OldResourceProperties": resumed}
            if (resumed := prune_step.resume_old_properties(event))
            else {}
        ),
        CONTINUATION: {
            "Deadline": deadline,
            "Known": known,
            "Leg": leg + 1,
            # The IAM window counts from the first call, whichever leg made it.
            "FirstCalls": result.first_calls,
            # Asked once: the stack's status moves on while this request waits.
            "Rollback": request.rollback is not None,
            # Planned once: the next leg submits the same paths (same CallerReferences).
            **(
                {s3_plan.CONTINUATION_KEY: s3_plan.to_continuation(request.plan)}
                if request.plan is not None
                else {}
            ),
        },
    }
    if not lifecycle.begin_hand_off():
        return  # the lifecycle's timer answered already; do not start a leg nobody hears
    try:
        boto3.client("lambda", config=_INVOKE_CONFIG).invoke(
            FunctionName=context.invoked_function_arn,
            InvocationType="Event",
            Payload=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        )
    except Exception as exc:  # every failure must become an answer, never a hang
        lifecycle.end_hand_off(succeeded=False)
        raise PurgeError(
            f"could not hand the wait to a new invocation ({type(exc).__name__}: {exc}); "
            f"invalidations {', '.join(known.values()) or '(none yet)'} go on in CloudFront"
        ) from exc
    lifecycle.end_hand_off(succeeded=True)
    logger.info(
        "handed_off",
        extra={
            "next_leg": leg + 1,
            "invalidations": list(known.values()),
            "deadline_in_s": round(deadline - time.time(), 1),
        },
    )


#: Engine events that say something is wrong for now, logged as warnings.
_WARNING_EVENTS = frozenset(
    {engine.Event.WAITING_FOR_IAM, engine.Event.NOT_VISIBLE_YET, engine.Event.FAILED}
)


def _log_progress(started: float, waits: engine.Timing) -> engine.Reporter:
    def report(kind: str, job: engine.Job) -> None:
        event = engine.Event.of(kind)
        fields: dict[str, Any] = {
            "distribution": job.distribution_id,
            "tenant": job.tenant,
            "invalidation": job.invalidation_id,
            "purge_status": job.status,
            "batch": job.batch.index,
            "caller_reference": job.caller_reference,
            "waited_s": round(time.time() - started, 2),
            "next_check_in_s": round(max(0.0, job.next_at - time.time()), 2),
        }
        if event is engine.Event.WAITING_FOR_IAM:
            fields["note"] = (
                "AccessDenied: waiting for IAM to propagate a new grant, up to "
                f"{waits.iam_window:g} s from this request's first call on the distribution"
            )
        if event is engine.Event.WAITING_FOR_CAPACITY:
            fields["files_in_progress"] = job.in_progress_files
            fields["wildcards_in_progress"] = job.in_progress_wildcards
        if job.last_problem and (event is engine.Event.RETRY or event in _WARNING_EVENTS):
            fields["problem"] = job.last_problem
        if job.error is not None:
            fields["error"] = str(job.error)
        level = logging.WARNING if event in _WARNING_EVENTS else logging.INFO
        logger.log(level, kind, extra=fields)

    return report

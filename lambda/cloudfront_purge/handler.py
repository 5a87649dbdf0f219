"""Lambda entry point of ``Custom::CloudFrontInvalidation``: wiring, nothing more.

Lambda handler string: ``cloudfront_purge.handler.handler``.

Lifecycle:
- Create / Update: purge (rules + engine), wait for Completed, answer SUCCESS with the ids.
  A wait that outlasts this invocation hands off: the function invokes itself
  asynchronously with the same event plus a continuation (deadline, invalidation ids) and
  returns without answering; the last leg answers. See README "Waiting past 15 minutes".
- Delete: SUCCESS at once. Nothing to undo: an invalidation cannot be cancelled, and a
  purge on delete only fails stacks (aws-cdk issue 4223).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import boto3
from botocore.config import Config
from crhelper import CfnResource

from cloudfront_purge import engine, rules
from cloudfront_purge.errors import PurgeError
from cloudfront_purge.responder import MAX_REASON_CHARS, deliver, response_data

logger = logging.getLogger(__name__)

#: Key the hand-off adds to the event; CloudFormation never sends it.
CONTINUATION = "CloudFrontInvalidationContinuation"
#: A runaway chain of hand-offs is a bug; the deadline stops it long before this.
MAX_LEGS = 20
USER_AGENT = "cdk-cloudfront-invalidation/0.1"


class LambdaContext(Protocol):
    """The parts of Lambda's context object this handler reads."""

    invoked_function_arn: str
    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


class PurgeResource(CfnResource):
    """crhelper's lifecycle with three changes.

    - No EventBridge polling clients: crhelper builds lambda/events/logs clients at import
      for its polling, which this provider does not use (its 1-minute granularity is too
      coarse); skipping them keeps the cold start near ``import boto3`` + one client.
    - Responses go through ``responder.deliver`` (bounded retries, non-2xx retried), with
      the Reason cut at its end, not its start.
    - After a hand-off, this invocation sends nothing: the next leg answers.
    """

    def __init__(self) -> None:
        with _skip_polling_clients():
            super().__init__(
                json_logging=True, log_level="INFO", boto_level="ERROR", sleep_on_delete=0
            )
        self._sam_local = None
        # crhelper's timeout timer runs on its own thread; this lock makes "answer" and
        # "hand off" exclusive, so CloudFormation never gets FAILED while a next leg waits.
        self._lock = threading.Lock()
        self.handing_off = False
        self.handed_off = False
        self.answered = False

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> None:
        self.handing_off = self.handed_off = self.answered = False
        super().__call__(event, context)

    def begin_hand_off(self) -> bool:
        """Claim the hand-off; False if an answer (the timer's FAILED) went out already."""
        with self._lock:
            if self.answered:
                return False
            self.handing_off = True
            return True

    def end_hand_off(self, *, succeeded: bool) -> None:
        with self._lock:
            self.handing_off = False
            self.handed_off = succeeded

    def _send(
        self, status: str | None = None, reason: str = "", send_response: object = None
    ) -> None:
        with self._lock:
            if self.handed_off or self.answered:
                return
            self.answered = True
        # Built here rather than by crhelper's _send, which cuts a long Reason to its last
        # 240 characters and so drops the distribution and call named at its start.
        body = {
            "Status": status or self.Status,
            "PhysicalResourceId": str(self.PhysicalResourceId),
            "StackId": self.StackId,
            "RequestId": self.RequestId,
            "LogicalResourceId": self.LogicalResourceId,
            "Reason": _shorten(reason if status else str(self.Reason)),
            "Data": self.Data,
            "NoEcho": self.NoEcho,
        }
        # _response_url: set by crhelper 2.0.12 (pinned) per request; not in its stubs.
        deliver(self._response_url, body)  # type: ignore[attr-defined]

    def _timeout(self) -> None:
        # crhelper's timer, 0.5 s before Lambda kills the process. A hand-off under way
        # answers through the next leg; otherwise say what went wrong.
        with self._lock:
            if self.handing_off or self.handed_off:
                return
        self._send(
            "FAILED",
            "the provider function ran out of time before it could hand the wait to a new "
            "invocation (a CloudFront call hung?); the invalidations go on in CloudFront",
        )


def _shorten(reason: str, limit: int = MAX_REASON_CHARS) -> str:
    return reason if len(reason) <= limit else reason[: limit - 4] + " ..."


@contextmanager
def _skip_polling_clients() -> Iterator[None]:
    previous = os.environ.get("AWS_SAM_LOCAL")
    os.environ["AWS_SAM_LOCAL"] = "true"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["AWS_SAM_LOCAL"]
        else:
            os.environ["AWS_SAM_LOCAL"] = previous


if not logging.root.handlers:  # pragma: no cover - Lambda installs one; local runs may not
    logging.basicConfig()

helper = PurgeResource()
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
cloudfront = boto3.client("cloudfront", config=_CLIENT_CONFIG)


def handoff_margin(remaining: float) -> float:
    """Seconds kept back at the end of an invocation to hand off cleanly.

    The engine stops within one CloudFront call of the margin (at most 3 + 10 s), then the
    self-invocation takes at most 2 x (2 + 5) s, and crhelper's timer fires 0.5 s before
    the end: a full-size invocation keeps 45 s; a short one (local runs) keeps a fifth.
    """
    return min(45.0, max(2.0, remaining * 0.2))


@helper.create
def create(event: dict[str, Any], context: LambdaContext) -> str:
    return _purge(event, context)


@helper.update
def update(event: dict[str, Any], context: LambdaContext) -> str:
    return _purge(event, context)


@helper.delete
def delete(event: dict[str, Any], _context: LambdaContext) -> str:
    logger.info({"event": "delete", "note": "nothing to purge or undo"})
    return str(event["PhysicalResourceId"])


def handler(event: dict[str, Any], context: LambdaContext) -> None:
    helper(event, context)


def _purge(event: dict[str, Any], context: LambdaContext) -> str:
    started = time.time()
    request_type = event["RequestType"]
    if request_type == "Update":
        # A FAILED update must keep the old id; only SUCCESS may move it.
        helper.PhysicalResourceId = event["PhysicalResourceId"]
    spec = rules.parse_properties(event.get("ResourceProperties", {}))
    physical_id = rules.physical_resource_id(
        stack_id=event["StackId"],
        logical_id=event["LogicalResourceId"],
        distribution_ids=spec.distribution_ids,
    )
    if request_type == "Create":
        helper.PhysicalResourceId = physical_id
    if request_type == "Create" and not spec.invalidate_on_create:
        # Every attribute is present, so a GetAtt on any of them works on this deploy too.
        helper.Data.update(
            response_data(
                invalidation_ids=[],
                caller_references=[],
                status="Skipped",
                distribution_ids=spec.distribution_ids,
                path_count=len(spec.paths),
            )
        )
        logger.info({"event": "skipped", "reason": "InvalidateOnCreate is false"})
        return physical_id

    continuation: Mapping[str, Any] = event.get(CONTINUATION) or {}
    leg = int(continuation.get("Leg", 1))
    deadline = float(continuation.get("Deadline", started + spec.timeout_seconds))
    remaining = context.get_remaining_time_in_millis() / 1000.0
    jobs = engine.plan_jobs(spec, request_id=event["RequestId"])
    logger.info(
        {
            "event": "purge",
            "request_type": request_type,
            "leg": leg,
            "distributions": list(spec.distribution_ids),
            "paths": len(spec.paths),
            "batches": len(jobs),
            "wait_for_completion": spec.wait_for_completion,
            "deadline_in_s": round(deadline - started, 1),
        }
    )
    result = engine.purge(
        cloudfront,
        jobs,
        deadline=deadline,
        timeout_seconds=spec.timeout_seconds,
        wait=spec.wait_for_completion,
        stop_at=started + remaining - handoff_margin(remaining),
        known=continuation.get("Known"),
        report=_log_progress(started),
    )
    if not result.finished:
        _hand_off(event, context, deadline=deadline, known=result.known, leg=leg)
        return physical_id
    helper.Data.update(
        response_data(
            invalidation_ids=result.invalidation_ids,
            caller_references=result.caller_references,
            status=result.status,
            distribution_ids=spec.distribution_ids,
            path_count=len(spec.paths),
        )
    )
    logger.info(
        {
            "event": "done",
            "status": result.status,
            "invalidations": result.invalidation_ids,
            "seconds": round(time.time() - started, 3),
        }
    )
    return physical_id


def _hand_off(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    deadline: float,
    known: dict[str, str],
    leg: int,
) -> None:
    if leg >= MAX_LEGS:
        raise PurgeError(f"gave up after {leg} invocations of waiting; invalidations: {known}")
    # OldResourceProperties is not needed to resume; leaving it out keeps the payload
    # under the asynchronous invocation size limit for large path lists.
    payload = {
        **{k: v for k, v in event.items() if k not in (CONTINUATION, "OldResourceProperties")},
        CONTINUATION: {"Deadline": deadline, "Known": known, "Leg": leg + 1},
    }
    if not helper.begin_hand_off():
        return  # crhelper's timer answered FAILED already; do not start a leg nobody hears
    try:
        boto3.client("lambda", config=_INVOKE_CONFIG).invoke(
            FunctionName=context.invoked_function_arn,
            InvocationType="Event",
            Payload=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        )
    except Exception as exc:  # every failure must become a FAILED answer, never a hang
        helper.end_hand_off(succeeded=False)
        raise PurgeError(
            f"could not hand the wait to a new invocation ({type(exc).__name__}: {exc}); "
            f"invalidations {', '.join(known.values()) or '(none yet)'} go on in CloudFront"
        ) from exc
    helper.end_hand_off(succeeded=True)
    logger.info(
        {
            "event": "handed_off",
            "next_leg": leg + 1,
            "invalidations": list(known.values()),
            "deadline_in_s": round(deadline - time.time(), 1),
        }
    )


def _log_progress(started: float) -> engine.Reporter:
    def report(kind: str, job: engine.Job) -> None:
        logger.info(
            {
                "event": kind,
                "distribution": job.distribution_id,
                "invalidation": job.invalidation_id,
                "status": job.status,
                "batch": job.batch.index,
                "caller_reference": job.caller_reference,
                "waited_s": round(time.time() - started, 2),
                "next_check_in_s": round(max(0.0, job.next_at - time.time()), 2),
            }
        )

    return report

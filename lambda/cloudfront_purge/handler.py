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
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import boto3
from botocore.config import Config
from crhelper import CfnResource

from cloudfront_purge import engine, rules
from cloudfront_purge.errors import PurgeError
from cloudfront_purge.responder import deliver, response_data

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
    - Responses go through ``responder.deliver`` (bounded retries, non-2xx retried).
    - After a hand-off, this invocation sends nothing: the next leg answers.
    """

    def __init__(self) -> None:
        with _skip_polling_clients():
            super().__init__(
                json_logging=True, log_level="INFO", boto_level="ERROR", sleep_on_delete=0
            )
        self._sam_local = None
        self.handed_off = False
        self.answered = False

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> None:
        self.handed_off = False
        self.answered = False
        super().__call__(event, context)

    def _send(
        self, status: str | None = None, reason: str = "", send_response: object = None
    ) -> None:
        if self.handed_off or self.answered:
            return
        self.answered = True
        # crhelper cuts a long Reason to its last 240 characters, which drops the
        # distribution and call named at the start: cut the end instead.
        self.Reason = _shorten(str(self.Reason))
        # _send is private to crhelper 2.0.12 (pinned in pyproject): not in its stubs.
        super()._send(status, _shorten(reason), send_response=deliver)  # type: ignore[misc]

    def _timeout(self) -> None:
        # crhelper's timer, 0.5 s before Lambda kills the process: the hand-off should
        # have happened long before, so say what was being waited on.
        self._send(
            "FAILED",
            "the provider function ran out of time before it could hand the wait to a new "
            "invocation (a CloudFront call hung?); the invalidations go on in CloudFront",
        )


def _shorten(reason: str, limit: int = 256) -> str:
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
_CLIENT_CONFIG = Config(
    # The engine retries with its own backoff and deadline; botocore must not add waits.
    retries={"mode": "standard", "max_attempts": 1},
    connect_timeout=5,
    read_timeout=15,
    user_agent_extra=USER_AGENT,
)
cloudfront = boto3.client("cloudfront", config=_CLIENT_CONFIG)


def handoff_margin(remaining: float) -> float:
    """Seconds kept back at the end of an invocation to hand off cleanly.

    A CloudFront call can block up to connect + read timeout (20 s), so a full-size
    invocation keeps 30 s; a short one (local runs) keeps a fifth of its time.
    """
    return min(30.0, max(2.0, remaining * 0.2))


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
    payload = {
        **{k: v for k, v in event.items() if k != CONTINUATION},
        CONTINUATION: {"Deadline": deadline, "Known": known, "Leg": leg + 1},
    }
    try:
        boto3.client("lambda", config=_CLIENT_CONFIG).invoke(
            FunctionName=context.invoked_function_arn,
            InvocationType="Event",
            Payload=json.dumps(payload).encode("utf-8"),
        )
    except Exception as exc:  # every failure must become a FAILED answer, never a hang
        raise PurgeError(
            f"could not hand the wait to a new invocation ({type(exc).__name__}: {exc}); "
            f"invalidations {', '.join(known.values()) or '(none yet)'} go on in CloudFront"
        ) from exc
    helper.handed_off = True
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

"""The provider's on-failure destination (handler ``cloudfront_purge.function.on_failure.handler``).

CloudFormation invokes the provider asynchronously, and so does the provider's own
hand-off. When Lambda gives such an invocation up (it failed on every retry:
``RetriesExhausted``; or it waited in the queue past the maximum event age:
``EventAgeExceeded``), it invokes this function with an invocation record (AWS Lambda
Developer Guide, "Capturing records of Lambda asynchronous invocations")::

    {"version": "1.0", "timestamp": "...",
     "requestContext": {"requestId": "...", "functionArn": "...",
                        "condition": "RetriesExhausted", "approximateInvokeCount": 3},
     "requestPayload": <the original event>,
     "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                         "functionError": "Unhandled"},
     "responsePayload": {"errorMessage": "...", "errorType": "..."}}

The original event is a CloudFormation request (or a hand-off leg, which carries the same
request): this answers it FAILED with a Reason naming the condition and the last error
(SUCCESS for a Delete), so the stack fails in minutes instead of at its ServiceTimeout.

No loop is possible: this function has no destination of its own, it never invokes a
function, and a record that is not a CloudFormation request is logged and dropped.
Standard library only, like ``entry``: it must work when the provider's code cannot load.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from cloudfront_purge import __version__
from cloudfront_purge.function import fallback
from cloudfront_purge.model import rules

logger = logging.getLogger(__name__)
logging.getLogger("cloudfront_purge").setLevel(logging.INFO)
# Once per cold start, as the provider function does: which code answers (docs/releasing.md).
logger.info("cold_start", extra={"version": __version__})

_ERROR_CHARS = 300

#: What each condition means for a person reading the stack events.
_CONDITIONS = {
    "RetriesExhausted": "every attempt failed",
    "EventAgeExceeded": "the request waited in Lambda's queue past its maximum event age "
    "(the function was throttled or unavailable)",
}


def reason_for(record: Mapping[str, Any]) -> str:
    """The FAILED Reason for a given-up invocation: the condition, the attempts, the error."""
    context = record.get("requestContext") or {}
    condition = str(context.get("condition") or "unknown condition")
    attempts = context.get("approximateInvokeCount")
    request_id = context.get("requestId") or "?"
    payload = record.get("responsePayload")
    error = ""
    if isinstance(payload, Mapping):
        kind = payload.get("errorType") or (record.get("responseContext") or {}).get(
            "functionError"
        )
        message = rules.shorten(str(payload.get("errorMessage") or "").strip(), _ERROR_CHARS)
        error = ": last error " + ": ".join(str(part) for part in (kind, message) if part)
    meaning = _CONDITIONS.get(condition, "Lambda gave the invocation up")
    tried = f" after {attempts} attempts" if attempts else ""
    return (
        f"the provider function gave up on this request ({condition}{tried}, {meaning}){error}. "
        f"Nothing confirms the purge; see the provider's log group for invocation {request_id}, "
        "fix the cause, and deploy again"
    )


def handler(record: dict[str, Any], _context: object) -> None:
    """Answer the CloudFormation request inside an on-failure invocation record."""
    event = record.get("requestPayload") if isinstance(record, Mapping) else None
    if not fallback.is_cloudformation_request(event):
        # Nothing to answer; raising would only make Lambda retry a record that cannot
        # change.
        logger.error(
            "on_failure_ignored",
            extra={
                "why": "the record's requestPayload is not a CloudFormation request",
                "record_keys": sorted(record) if isinstance(record, Mapping) else [],
                "payload_type": type(event).__name__,
            },
        )
        return
    assert isinstance(event, Mapping)
    context = record.get("requestContext") or {}
    logger.error(
        "invocation_given_up",
        extra={
            "condition": context.get("condition"),
            "attempts": context.get("approximateInvokeCount"),
            "invocation_request_id": context.get("requestId"),
            "request_type": event.get("RequestType"),
            "response_payload": fallback.scrub(
                rules.shorten(json.dumps(record.get("responsePayload")), _ERROR_CHARS), event
            ),
        },
    )
    if not fallback.answer(event, reason_for(record)):
        # Lambda retries this function a few times (its own EventInvokeConfig); it has no
        # destination, so this cannot loop.
        raise RuntimeError("could not deliver the on-failure answer to CloudFormation")

"""Answers CloudFormation without the handler: for the start-up guard (``entry``) and for
Lambda's on-failure destination (``on_failure``).

Standard library and ``responder`` only (itself standard library only), so a broken
``handler``, ``engine``, crhelper or boto3 cannot stop these answers. CloudFormation then
learns of the failure in seconds instead of waiting for the resource's ServiceTimeout
(AWS CloudFormation User Guide, "Custom resources": a request without a response fails
only when its timeout ends).

Rules (README, "Troubleshooting"):
- Create / Update -> FAILED with the Reason given. A Create carries a PhysicalResourceId
  made from the request, so the Delete that follows a failed Create names a resource that
  was never made, and that Delete succeeds.
- Delete -> SUCCESS with the event's PhysicalResourceId: nothing was purged on delete in
  any case, and a FAILED delete only leaves the stack stuck.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from cloudfront_purge import responder

logger = logging.getLogger(__name__)

#: The keys of a CloudFormation custom resource request these answers need.
REQUIRED_KEYS = ("RequestType", "ResponseURL", "StackId", "RequestId", "LogicalResourceId")


def is_cloudformation_request(event: object) -> bool:
    """True when ``event`` looks like a custom resource request (hand-off legs included)."""
    return isinstance(event, Mapping) and all(
        isinstance(event.get(key), str) and event.get(key) for key in REQUIRED_KEYS
    )


def not_created_id(event: Mapping[str, Any]) -> str:
    """The PhysicalResourceId of a Create that failed before anything was made.

    Deterministic for one request, so every path that answers it answers the same id.
    """
    return f"{str(event['LogicalResourceId'])[:200]}-not-created-{str(event['RequestId'])[:36]}"


def answer(event: Mapping[str, Any], failure_reason: str) -> bool:
    """Answer ``event``: FAILED with ``failure_reason`` (SUCCESS for a Delete).

    Returns True when CloudFormation took the answer. The ResponseURL is never logged.
    """
    request_type = event["RequestType"]
    url = str(event["ResponseURL"])
    # An error message can quote the URL it failed on; the Reason and the log must not.
    failure_reason = scrub(failure_reason, event)
    physical_id = event.get("PhysicalResourceId") or not_created_id(event)
    body: dict[str, Any] = {
        "Status": "SUCCESS" if request_type == "Delete" else "FAILED",
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": {},
    }
    if request_type == "Delete":
        body["Reason"] = f"deleted without purging; the function could not run: {failure_reason}"
    else:
        body["Reason"] = failure_reason
    logger.error(
        {
            "event": "fallback_answer",
            "request_type": request_type,
            "status": body["Status"],
            "logical_id": event["LogicalResourceId"],
            "request_id": event["RequestId"],
            "reason": failure_reason,
        }
    )
    return responder.deliver(url, body)


def scrub(text: str, event: Mapping[str, Any]) -> str:
    """``text`` without the event's ResponseURL (whole, or without its signature)."""
    return responder._scrub(text, str(event.get("ResponseURL") or "\0"))

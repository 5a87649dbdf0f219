"""Answers CloudFormation without the handler: for the start-up guard (``entry``) and for
Lambda's on-failure destination (``on_failure``).

Standard library, ``responder`` and ``stack_status`` only (boto3 is imported lazily, inside
a guard), so a broken
``handler``, ``engine``, crhelper or boto3 cannot stop these answers. CloudFormation then
learns of the failure in seconds instead of waiting for the resource's ServiceTimeout
(AWS CloudFormation User Guide, "Custom resources": a request without a response fails
only when its timeout ends).

Rules (docs/troubleshooting.md):
- Create / Update -> FAILED with the Reason given. A Create carries a PhysicalResourceId
  made from the request, so the Delete that follows a failed Create names a resource that
  was never made, and that Delete succeeds.
- Delete -> SUCCESS with the event's PhysicalResourceId: nothing was purged on delete in
  any case, and a FAILED delete only leaves the stack stuck.
- Update during a rollback (DescribeStacks on the event's StackId says
  UPDATE_ROLLBACK_IN_PROGRESS, :mod:`~cloudfront_purge.function.stack_status`) -> SUCCESS
  with the handler's unconfirmed-purge attributes (``PurgeConfirmed`` "false",
  ``PurgeProblem``, ``Status`` "Unconfirmed"): a FAILED answer would leave the stack
  UPDATE_ROLLBACK_FAILED. If the stack's status cannot be known (boto3 or the call fails),
  the answer is FAILED as for any Update.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from cloudfront_purge.function import responder
from cloudfront_purge.function.stack_status import stack_status
from cloudfront_purge.model import rules

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
    """Answer ``event``: FAILED with ``failure_reason`` (SUCCESS for a Delete, and for an
    Update while the stack rolls back, with the purge unconfirmed).

    Returns True when CloudFormation took the answer. The ResponseURL is never logged.
    """
    request_type = event["RequestType"]
    url = str(event["ResponseURL"])
    # An error message can quote the URL it failed on; the Reason and the log must not.
    failure_reason = scrub(failure_reason, event)
    status, reason = "FAILED", failure_reason
    data: dict[str, str] = {}
    if request_type == "Delete":
        status = "SUCCESS"
        reason = f"deleted without purging; the function could not run: {failure_reason}"
    elif request_type == "Update" and stack_status(event) == rules.ROLLBACK_STACK_STATUS:
        status = "SUCCESS"
        reason, data = _settle_rollback(event, failure_reason)
    body = responder.response_body(
        event,
        status=status,
        physical_id=str(event.get("PhysicalResourceId") or not_created_id(event)),
        reason=reason,
        data=data,
    )
    logger.error(
        "fallback_answer",
        extra={
            "request_type": request_type,
            "status": body["Status"],
            "logical_id": event["LogicalResourceId"],
            "request_id": event["RequestId"],
            "reason": failure_reason,
        },
    )
    return responder.deliver(url, body)


def scrub(text: str, event: Mapping[str, Any]) -> str:
    """``text`` without the event's ResponseURL (whole, or without its signature)."""
    return responder.scrub(text, str(event.get("ResponseURL") or ""))


def _settle_rollback(event: Mapping[str, Any], problem: str) -> tuple[str, dict[str, str]]:
    """The Reason and attributes of a rollback's Update answered SUCCESS: every attribute
    the handler would answer."""
    props = event.get("ResourceProperties")
    distributions: list[str] = []
    tenants: list[str] = []
    path_count = 0
    try:
        spec = rules.parse_properties(props if isinstance(props, Mapping) else {})
        distributions, path_count = list(spec.distribution_ids), len(spec.paths)
        tenants = list(spec.distribution_tenant_ids)
    except rules.RuleError:
        pass  # properties the handler would refuse: the attributes stay empty
    return responder.unconfirmed(
        problem,
        invalidation_ids=[],
        caller_references=[],
        submitted=False,
        distribution_ids=distributions,
        distribution_tenant_ids=tenants,
        path_count=path_count,
    )

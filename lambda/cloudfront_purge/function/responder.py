"""Answering CloudFormation: a response body that fits, delivered for sure.

crhelper counts any HTTP status as delivered (a 403 from an expired URL too) and retries
connection errors forever; here a non-2xx answer is retried, the retries are bounded, and
a final failure is logged loudly. The ResponseURL is a presigned URL that decides the
resource's fate, so it never appears in a log line.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cloudfront_purge.model import rules

logger = logging.getLogger(__name__)

#: CloudFormation rejects a response body over 4,096 bytes.
MAX_BODY_BYTES = 4096
#: Room kept for Status, ids and Reason around Data.
_DATA_BUDGET_BYTES = 2800
MAX_REASON_CHARS = 1000
#: PurgeProblem is a GetAtt value and a log field, not the whole story: the log has it.
MAX_PROBLEM_CHARS = 300
DELIVERY_ATTEMPTS = 6
SCOPE_ATTRIBUTES = (
    rules.ATTR_PURGE_SCOPE,
    rules.ATTR_SCOPE_REASON,
    rules.ATTR_CHANGED_FILES,
    rules.ATTR_UNCHANGED_KEPT,
)
_DELIVERY_TIMEOUT_SECONDS = 10.0


def response_data(
    *,
    invalidation_ids: Sequence[str],
    caller_references: Sequence[str],
    status: str,
    distribution_ids: Sequence[str],
    path_count: int,
    problem: str = "",
    distribution_tenant_ids: Sequence[str] = (),
    scope: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The resource's attributes (GetAtt names, ``rules.ATTR_*``), cut to fit the 4 KB body.

    Every SUCCESS carries every attribute, so a GetAtt on any of them always works. Every
    value is a string: CloudFormation hands GetAtt values over as strings. ``problem`` is
    set only when a rollback answers SUCCESS without a confirmed purge. ``scope`` holds
    PurgeScope, ScopeReason, ChangedFiles and UnchangedKept (``s3_plan.attributes``);
    a key it lacks is present and empty.
    """
    data = {
        rules.ATTR_INVALIDATION_ID: invalidation_ids[0] if invalidation_ids else "",
        rules.ATTR_CALLER_REFERENCE: caller_references[0] if caller_references else "",
        rules.ATTR_STATUS: status,
        rules.ATTR_DISTRIBUTION_IDS: ",".join(distribution_ids),
        rules.ATTR_DISTRIBUTION_TENANT_IDS: ",".join(distribution_tenant_ids),
        rules.ATTR_INVALIDATION_COUNT: str(len(invalidation_ids)),
        rules.ATTR_PATH_COUNT: str(path_count),
        rules.ATTR_PURGE_CONFIRMED: "false" if problem else "true",
        rules.ATTR_PURGE_PROBLEM: rules.shorten(problem, MAX_PROBLEM_CHARS),
        rules.ATTR_INVALIDATION_IDS: ",".join(invalidation_ids),
    }
    for name in SCOPE_ATTRIBUTES:
        data[name] = (scope or {}).get(name, "")
    if len(json.dumps(data)) > _DATA_BUDGET_BYTES:
        kept: list[str] = []
        for inv in invalidation_ids:
            data[rules.ATTR_INVALIDATION_IDS] = ",".join([*kept, inv])
            if len(json.dumps(data)) > _DATA_BUDGET_BYTES - 40:
                break
            kept.append(inv)
        data[rules.ATTR_INVALIDATION_IDS] = ",".join(kept)
        data[rules.ATTR_INVALIDATION_IDS_TRUNCATED] = "true"
    return data


def unconfirmed_reason(problem: str) -> str:
    """The Reason of a rollback's SUCCESS whose purge is not confirmed
    (docs/troubleshooting.md): the rollback may finish, and the Reason says why it is
    unconfirmed."""
    return (
        "rollback: answered SUCCESS so the rollback can finish, but the purge is "
        f"unconfirmed: {problem}"
    )


def unconfirmed(
    problem: str,
    *,
    invalidation_ids: Sequence[str],
    caller_references: Sequence[str],
    submitted: bool,
    distribution_ids: Sequence[str],
    distribution_tenant_ids: Sequence[str],
    path_count: int,
    scope: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, str]]:
    """The Reason and attributes of a rollback's Update answered SUCCESS with the purge
    unconfirmed (docs/troubleshooting.md), for the handler and the fallback answer alike;
    logs ``rollback_purge_unconfirmed`` with the command that purges by hand."""
    data = response_data(
        invalidation_ids=invalidation_ids,
        caller_references=caller_references,
        status=rules.STATUS_UNCONFIRMED,
        distribution_ids=distribution_ids,
        distribution_tenant_ids=distribution_tenant_ids,
        path_count=path_count,
        problem=problem,
        scope=scope,
    )
    logger.warning(
        "rollback_purge_unconfirmed",
        extra={
            "problem": problem,
            "submitted": submitted,
            "invalidations": list(invalidation_ids),
            "distributions": list(distribution_ids),
            "distribution_tenants": list(distribution_tenant_ids),
            "advice": purge_advice(distribution_ids, distribution_tenant_ids),
        },
    )
    return unconfirmed_reason(problem), data


def purge_advice(
    distribution_ids: Sequence[str], distribution_tenant_ids: Sequence[str] = ()
) -> str:
    """What a person runs when a rollback's purge is unconfirmed."""
    return (
        "the cache may still serve the content being rolled back; purge it with: "
        "cloudfront-invalidate purge "
        + " ".join(
            [f"-d {d}" for d in distribution_ids]
            + [f"--distribution-tenant-id {t}" for t in distribution_tenant_ids]
            or ["-d <distribution id>"]
        )
        + " -p '/*'"
    )


def response_body(
    event: Mapping[str, Any],
    *,
    status: str,
    physical_id: str,
    reason: str,
    data: Mapping[str, str],
) -> dict[str, Any]:
    """The body of an answer to ``event`` (AWS CloudFormation User Guide, "Custom resource
    response objects"): the one builder for the handler, the start-up guard and the
    on-failure function. ``deliver`` fits it to the size limit."""
    return {
        "Status": status,
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Reason": reason,
        "Data": dict(data),
        "NoEcho": False,
    }


def fit_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """Cut the Reason (then Data) until the JSON body is under CloudFormation's limit."""
    fitted = dict(body)
    fitted["Reason"] = rules.shorten(
        str(fitted.get("Reason", "")), MAX_REASON_CHARS, marker=" ...(truncated)"
    )
    if len(json.dumps(fitted).encode("utf-8")) > MAX_BODY_BYTES:
        fitted["Data"] = {}
    return fitted


Sender = Callable[[str, bytes], int]


def _put(url: str, payload: bytes) -> int:
    request = urllib.request.Request(  # noqa: S310 - the URL is CloudFormation's own https URL
        url,
        data=payload,
        method="PUT",
        # The presigned URL is signed for an empty content type.
        headers={"Content-Type": "", "Content-Length": str(len(payload))},
    )
    context = ssl.create_default_context()
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=_DELIVERY_TIMEOUT_SECONDS, context=context
        ) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        # The error holds the open error response: close it here, not in a finalizer
        # (CPython 3.14, the python3.14 runtime, warns about it with a ResourceWarning).
        exc.close()
        return int(exc.code)


def deliver(
    url: str,
    body: Mapping[str, Any],
    _ssl_verify: object = None,
    *,
    send: Sender = _put,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = DELIVERY_ATTEMPTS,
) -> bool:
    """PUT the response until CloudFormation's endpoint answers 2xx, a bounded number of times.

    The signature matches crhelper's ``_send_response(url, body, ssl_verify)``.
    Returns True when delivered.
    """
    fitted = fit_body(body)
    payload = json.dumps(fitted).encode("utf-8")
    # Log field names are snake_case like every other field (docs/troubleshooting.md).
    summary = {
        "status": fitted.get("Status"),
        "physical_resource_id": fitted.get("PhysicalResourceId"),
        "reason": fitted.get("Reason"),
        "logical_resource_id": fitted.get("LogicalResourceId"),
    }
    problem = ""
    for attempt in range(1, attempts + 1):
        try:
            status = send(url, payload)
        except (OSError, urllib.error.URLError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= status < 300:
                logger.info("responded", extra={"http_status": status, **summary})
                return True
            problem = f"HTTP {status}"
        logger.warning(
            "response_retry", extra={"attempt": attempt, "problem": scrub(problem, url)}
        )
        if attempt < attempts:
            sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))
    logger.critical(
        "response_lost",
        extra={
            "problem": scrub(problem, url),
            "attempts": attempts,
            "advice": "CloudFormation did not take the answer; the stack waits until its "
            "ServiceTimeout. The invalidations themselves were not affected.",
            **summary,
        },
    )
    return False


def scrub(text: str, url: str) -> str:
    """``text`` without ``url`` (whole, or without its signature): an exception message can
    quote the URL it failed on, and the ResponseURL must appear in no Reason and no log."""
    if not url:
        return text
    base = url.split("?", 1)[0]
    return text.replace(url, "<ResponseURL>").replace(base, "<ResponseURL>")

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

logger = logging.getLogger(__name__)

#: CloudFormation rejects a response body over 4,096 bytes.
MAX_BODY_BYTES = 4096
#: Room kept for Status, ids and Reason around Data.
_DATA_BUDGET_BYTES = 2800
MAX_REASON_CHARS = 1000
DELIVERY_ATTEMPTS = 6
_DELIVERY_TIMEOUT_SECONDS = 10.0


def response_data(
    *,
    invalidation_ids: Sequence[str],
    caller_references: Sequence[str],
    status: str,
    distribution_ids: Sequence[str],
    path_count: int,
) -> dict[str, str]:
    """The resource's attributes (GetAtt names), cut to fit the 4 KB body.

    Every value is a string: CloudFormation hands GetAtt values over as strings.
    """
    data = {
        "InvalidationId": invalidation_ids[0] if invalidation_ids else "",
        "CallerReference": caller_references[0] if caller_references else "",
        "Status": status,
        "DistributionIds": ",".join(distribution_ids),
        "InvalidationCount": str(len(invalidation_ids)),
        "PathCount": str(path_count),
        "InvalidationIds": ",".join(invalidation_ids),
    }
    if len(json.dumps(data)) > _DATA_BUDGET_BYTES:
        kept: list[str] = []
        for inv in invalidation_ids:
            data["InvalidationIds"] = ",".join([*kept, inv])
            if len(json.dumps(data)) > _DATA_BUDGET_BYTES - 40:
                break
            kept.append(inv)
        data["InvalidationIds"] = ",".join(kept)
        data["InvalidationIdsTruncated"] = "true"
    return data


def fit_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """Cut the Reason (then Data) until the JSON body is under CloudFormation's limit."""
    fitted = dict(body)
    reason = str(fitted.get("Reason", ""))
    if len(reason) > MAX_REASON_CHARS:
        fitted["Reason"] = reason[: MAX_REASON_CHARS - 15] + " ...(truncated)"
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
    summary = {
        "Status": fitted.get("Status"),
        "PhysicalResourceId": fitted.get("PhysicalResourceId"),
        "Reason": fitted.get("Reason"),
        "LogicalResourceId": fitted.get("LogicalResourceId"),
    }
    problem = ""
    for attempt in range(1, attempts + 1):
        try:
            status = send(url, payload)
        except (OSError, urllib.error.URLError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= status < 300:
                logger.info({"event": "responded", "http_status": status, **summary})
                return True
            problem = f"HTTP {status}"
        logger.warning(
            {"event": "response_retry", "attempt": attempt, "problem": _scrub(problem, url)}
        )
        if attempt < attempts:
            sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))
    logger.critical(
        {
            "event": "response_lost",
            "problem": _scrub(problem, url),
            "attempts": attempts,
            "advice": "CloudFormation did not take the answer; the stack waits until its "
            "ServiceTimeout. The invalidations themselves were not affected.",
            **summary,
        }
    )
    return False


def _scrub(text: str, url: str) -> str:
    """An exception message can quote the URL it failed on."""
    base = url.split("?", 1)[0]
    return text.replace(url, "<ResponseURL>").replace(base, "<ResponseURL>")

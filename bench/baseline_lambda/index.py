"""The baseline custom resource, run in the same local Lambda as ours: what BucketDeployment
and the AWS CLI do.

Create one invalidation per distribution with a uuid4 CallerReference (aws-cdk
BucketDeployment's handler), then wait with botocore's ``invalidation_completed`` waiter as
documented (a GetInvalidation every 20 s, at most 30 times), then PUT the answer to the
ResponseURL. It logs the same event names as our handler ("purge" before the first call,
"completed" when it has seen Completed) so one parser splits both timelines.

Standard library and boto3 only: the local Lambda gives it nothing else.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

import boto3
from botocore.config import Config

#: botocore's documented waiter (botocore/data/cloudfront/2020-05-31/waiters-2.json).
WAITER_DELAY_SECONDS = 20
WAITER_MAX_ATTEMPTS = 30

# BucketDeployment's client configuration (standard retries, max_attempts 10).
_client = boto3.client(
    "cloudfront", config=Config(retries={"mode": "standard", "max_attempts": 10})
)


def _log(event: str, **fields: Any) -> None:  # noqa: ANN401 - free-form structured fields
    # print, not logging: the runtime's root logger is not ours to configure.
    print(json.dumps({"event": event, "at": time.time(), **fields}), flush=True)


def _answer(event: dict[str, Any], status: str, reason: str, data: dict[str, Any]) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason,
            "PhysicalResourceId": event.get("PhysicalResourceId") or event["LogicalResourceId"],
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": data,
        }
    ).encode()
    url = event["ResponseURL"]
    if not url.startswith("https://"):
        raise ValueError("ResponseURL must be https")
    request = urllib.request.Request(  # noqa: S310 - https only, checked above
        url,
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()


def handler(event: dict[str, Any], _context: object) -> None:
    props = event["ResourceProperties"]
    ids = props.get("DistributionIds") or [props["DistributionId"]]
    paths = list(props["Paths"])
    try:
        _log("purge", distributions=ids)
        created = []
        for distribution_id in ids:
            answer = _client.create_invalidation(
                DistributionId=distribution_id,
                InvalidationBatch={
                    "Paths": {"Quantity": len(paths), "Items": paths},
                    "CallerReference": str(uuid.uuid4()),
                },
            )
            created.append((distribution_id, answer["Invalidation"]["Id"]))
        waiter = _client.get_waiter("invalidation_completed")
        for distribution_id, invalidation_id in created:
            waiter.wait(
                DistributionId=distribution_id,
                Id=invalidation_id,
                WaiterConfig={"Delay": WAITER_DELAY_SECONDS, "MaxAttempts": WAITER_MAX_ATTEMPTS},
            )
            _log("completed", invalidation=invalidation_id)
        _answer(event, "SUCCESS", "", {"InvalidationIds": ",".join(i for _, i in created)})
    except Exception as exc:  # the answer must go out whatever failed
        _answer(event, "FAILED", f"{type(exc).__name__}: {exc}"[:256], {})

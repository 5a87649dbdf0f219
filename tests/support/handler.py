"""What the handler's tests share: a Lambda context, a ResponseURL recorder, events, props."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from cloudfront_purge.model import rules

SECRET_URL = "https://cfn-responses.example/stack/resource?X-Amz-Signature=s3cr3t-sig"
INVALIDATION_SECONDS = 0.6
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/site/abc"
SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:provider"
#: Every attribute a SUCCESS carries, whatever happened.
ATTRIBUTES = {rules.ATTR_INVALIDATION_ID, rules.ATTR_INVALIDATION_IDS, rules.ATTR_CALLER_REFERENCE,
              rules.ATTR_STATUS, rules.ATTR_DISTRIBUTION_IDS, rules.ATTR_INVALIDATION_COUNT,
              rules.ATTR_PATH_COUNT, rules.ATTR_PURGE_CONFIRMED, rules.ATTR_PURGE_PROBLEM,
              rules.ATTR_DISTRIBUTION_TENANT_IDS,
              rules.ATTR_PURGE_SCOPE, rules.ATTR_SCOPE_REASON, rules.ATTR_CHANGED_FILES,
              rules.ATTR_UNCHANGED_KEPT}


class LambdaContext:
    """Lambda's context object: its remaining time counts down from the function's timeout."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.deadline = time.monotonic() + timeout
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "provider"
        self.invoked_function_arn = SERVICE_TOKEN

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


class StackStatus:
    """DescribeStacks answering one status, counting the calls."""

    def __init__(self, status: str = "UPDATE_IN_PROGRESS") -> None:
        self.status = status
        self.calls: list[dict[str, Any]] = []

    def describe_stacks(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"Stacks": [{"StackId": kwargs["StackName"], "StackName": "site", "StackStatus": self.status,
                            "CreationTime": "2026-01-01T00:00:00Z"}]}


class Responses:
    """Stands in for the ResponseURL: records each body and when it arrived."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.times: list[float] = []

    def __call__(self, url: str, body: dict[str, Any], _ssl: object = None) -> bool:
        assert url == SECRET_URL
        payload = json.dumps(body)
        assert len(payload.encode()) <= 4096
        self.bodies.append(json.loads(payload))
        self.times.append(time.time())
        return True

    @property
    def last(self) -> dict[str, Any]:
        return self.bodies[-1]


def event(request_type: str, props: dict[str, Any], *, old: dict[str, Any] | None = None,
          physical_id: str | None = None, request_id: str | None = None) -> dict[str, Any]:
    """A CloudFormation custom-resource request for the purge resource ``Purge``."""
    ev: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": SECRET_URL,
        "StackId": STACK_ID,
        "RequestId": request_id or str(uuid.uuid4()),
        "ResourceType": "Custom::CloudFrontInvalidation",
        "LogicalResourceId": "Purge",
        "ResourceProperties": {"ServiceToken": SERVICE_TOKEN, **props},
    }
    if old is not None:
        ev["OldResourceProperties"] = old
    if physical_id is not None:
        ev["PhysicalResourceId"] = physical_id
    return ev


def props(dist: str, source_hash: str = "aaaa1111bbbb2222", **extra: Any) -> dict[str, Any]:
    """The purge's properties: one distribution, ``/*``, a content hash."""
    return {"DistributionIds": [dist], "Paths": ["/*"], "SourceHash": source_hash, **extra}

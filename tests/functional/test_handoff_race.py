"""crhelper's timeout timer (its own thread) and the hand-off never both happen: the stack
is never answered FAILED while a next leg goes on waiting. Real time, about 4 s.

Found by review: slow CloudFront calls near the end of an invocation used to let the timer
send FAILED while the continuation was being invoked."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

from cloudfront_purge.resource import handler

URL = "https://cfn-responses.example/r?X-Amz-Signature=sig"


class Ctx:
    def __init__(self, timeout):
        self.deadline = time.monotonic() + timeout
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "provider"
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:provider"

    def get_remaining_time_in_millis(self):
        return int((self.deadline - time.monotonic()) * 1000)


class SlowCloudFront:
    """Accepts at once; GetInvalidation is slow (1.2 s), well under the 15 s read timeout."""
    def create_invalidation(self, *, DistributionId, InvalidationBatch):
        return {"Invalidation": {"Id": "I" + DistributionId, "Status": "InProgress",
                                 "CreateTime": datetime.now(UTC), "InvalidationBatch": InvalidationBatch}}

    def get_invalidation(self, *, DistributionId, Id):
        time.sleep(1.2)
        return {"Invalidation": {"Id": Id, "Status": "InProgress", "CreateTime": datetime.now(UTC)}}


def test_timer_failed_and_handoff_are_mutually_exclusive(monkeypatch):
    answers, invoked = [], []
    monkeypatch.setattr(handler, "deliver", lambda url, body, _s=None: answers.append((time.monotonic(), body)) or True)
    monkeypatch.setattr(handler, "cloudfront", SlowCloudFront())

    class Lambda:
        def invoke(self, **kw):
            time.sleep(0.8)  # an async Invoke round trip on a slow day (client allows 20 s)
            invoked.append((time.monotonic(), json.loads(kw["Payload"])))
            return {"StatusCode": 202}

    monkeypatch.setattr(handler.boto3, "client", lambda *_a, **_k: Lambda())
    ev = {"RequestType": "Create", "ResponseURL": URL, "StackId": "arn:aws:cloudformation:us-east-1:1:stack/s/x",
          "RequestId": str(uuid.uuid4()), "ResourceType": "Custom::CloudFrontInvalidation", "LogicalResourceId": "Purge",
          "ResourceProperties": {"ServiceToken": "x", "DistributionIds": ["EA", "EB"], "SourceHash": "abc"}}
    handler.handler(ev, Ctx(timeout=4.0))
    time.sleep(0.2)
    assert not (answers and invoked), "CloudFormation got FAILED while a continuation leg goes on waiting"
    # Exactly one of the two happened: an answer, or a hand-off to a next leg.
    assert len(answers) + len(invoked) == 1

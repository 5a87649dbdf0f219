"""A FAILED Reason keeps what a person acts on: every failed distribution and the advice,
even when IAM's own message is long (a Reason cut to its last 240 characters, as crhelper
cuts one, would keep only the tail of IAM's message)."""

from __future__ import annotations

import time
import uuid

from cloudfront_purge.resource import handler
from tests.support.fakes import FakeClock, FakeCloudFront, client_error
from tests.support.handler import LambdaContext

ROLE = ("arn:aws:sts::123456789012:assumed-role/SiteStack-CloudFrontInvalidationProvider7a1c2-"
        "Q1W2E3R4T5Y6/SiteStack-CloudFrontInvalidationProvider7a1c2f6-AbCdEfGhIjKl")
def denied(dist):
    return client_error("AccessDenied", "CreateInvalidation", 403,
        f"User: {ROLE} is not authorized to perform: cloudfront:CreateInvalidation on resource: "
        f"arn:aws:cloudfront::123456789012:distribution/{dist} because no identity-based policy "
        "allows the cloudfront:CreateInvalidation action")


def test_reason_keeps_advice_and_every_failed_distribution(monkeypatch):
    class Clock(FakeClock):
        @property
        def now(self): return time.time()
        @now.setter
        def now(self, v): pass
    cf = FakeCloudFront(Clock())
    # Denied past the IAM window (shortened here): still denied means a missing grant.
    monkeypatch.setenv(handler.IAM_WAIT_VARIABLE, "0.3")
    cf.faults["CreateInvalidation"] = [denied("EDIST1"), denied("EDIST2")] * 200
    answers = []
    monkeypatch.setattr(handler, "cloudfront", cf)
    monkeypatch.setattr(handler, "deliver", lambda url, body, _s=None: answers.append(body) or True)
    ev = {"RequestType": "Create", "ResponseURL": "https://x/y", "StackId": "arn:aws:cloudformation:us-east-1:1:stack/s/x",
          "RequestId": str(uuid.uuid4()), "LogicalResourceId": "Purge", "ResourceType": "Custom::CloudFrontInvalidation",
          "ResourceProperties": {"ServiceToken": "x", "DistributionIds": ["EDIST1", "EDIST2"], "SourceHash": "abc"}}
    handler.handler(ev, LambdaContext(timeout=900))
    reason = answers[-1]["Reason"]
    assert answers[-1]["Status"] == "FAILED"
    assert "EDIST1" in reason and "EDIST2" in reason and "grant cloudfront:CreateInvalidation" in reason

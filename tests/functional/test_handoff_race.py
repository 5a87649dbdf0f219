"""crhelper's timeout timer (its own thread) and the hand-off never both happen: the stack
is never answered FAILED while a next leg goes on waiting.

Each test forces one order of the race by firing the timer's callback at a chosen moment
of a real request (no sleeps): inside the hand-off's Invoke call, or before the hand-off
starts. Whatever the order, exactly one of the two reaches the outside world."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from cloudfront_purge.resource import handler
from tests.support.handler import LambdaContext

URL = "https://cfn-responses.example/r?X-Amz-Signature=sig"


class CloudFront:
    """Accepts at once; the invalidation stays InProgress. ``on_create`` runs once the
    invalidation is accepted, before the handler decides to wait or hand off."""

    def __init__(self, on_create=None) -> None:
        self.on_create = on_create

    def create_invalidation(self, *, DistributionId, InvalidationBatch):
        if self.on_create is not None:
            self.on_create()
        return {"Invalidation": {"Id": "I" + DistributionId, "Status": "InProgress",
                                 "CreateTime": datetime.now(UTC), "InvalidationBatch": InvalidationBatch}}

    def get_invalidation(self, *, DistributionId, Id):
        return {"Invalidation": {"Id": Id, "Status": "InProgress", "CreateTime": datetime.now(UTC)}}


def event() -> dict:
    return {"RequestType": "Create", "ResponseURL": URL,
            "StackId": "arn:aws:cloudformation:us-east-1:1:stack/s/x",
            "RequestId": str(uuid.uuid4()), "ResourceType": "Custom::CloudFrontInvalidation",
            "LogicalResourceId": "Purge",
            "ResourceProperties": {"ServiceToken": "x", "DistributionIds": ["EA"], "SourceHash": "abc"}}


@pytest.fixture
def world(monkeypatch):
    answers: list[dict] = []
    invoked: list[dict] = []
    monkeypatch.setattr(handler, "deliver", lambda url, body, _s=None: answers.append(body) or True)
    return answers, invoked, monkeypatch


def lambda_client(invoked, during_invoke=None):
    class Lambda:
        def invoke(self, **kw):
            if during_invoke is not None:
                during_invoke()
            invoked.append(json.loads(kw["Payload"]))
            return {"StatusCode": 202}
    return Lambda()


def timer_fires() -> None:
    """What crhelper's timer thread calls 0.5 s before Lambda ends the invocation
    (tests/unit/test_crhelper_contract.py pins that the timer calls this)."""
    handler.lifecycle.resource._timeout()


def test_the_timer_firing_during_the_hand_off_sends_nothing(world) -> None:
    answers, invoked, monkeypatch = world
    monkeypatch.setattr(handler, "cloudfront", CloudFront())
    monkeypatch.setattr(handler.boto3, "client",
                        lambda *_a, **_k: lambda_client(invoked, during_invoke=timer_fires))
    handler.handler(event(), LambdaContext(timeout=3.0))
    assert len(invoked) == 1, "the next leg was invoked"
    assert answers == [], "CloudFormation got an answer while the next leg goes on waiting"


def test_the_timer_firing_before_the_hand_off_answers_failed_and_invokes_no_leg(world) -> None:
    answers, invoked, monkeypatch = world
    monkeypatch.setattr(handler, "cloudfront", CloudFront(on_create=timer_fires))
    monkeypatch.setattr(handler.boto3, "client", lambda *_a, **_k: lambda_client(invoked))
    handler.handler(event(), LambdaContext(timeout=3.0))
    assert invoked == [], "a next leg was invoked after FAILED went out"
    assert [a["Status"] for a in answers] == ["FAILED"]
    assert "ran out of time before it could hand the wait" in answers[0]["Reason"]

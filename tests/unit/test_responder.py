"""Answering CloudFormation: bodies that fit, bounded retries, no URL in logs."""

from __future__ import annotations

import json
import logging

import pytest

from cloudfront_purge.responder import MAX_BODY_BYTES, deliver, fit_body, response_data

URL = "https://cfn.example/bucket/key?X-Amz-Signature=topsecret"
BODY = {"Status": "SUCCESS", "PhysicalResourceId": "P", "StackId": "s", "RequestId": "r",
        "LogicalResourceId": "L", "Reason": "", "Data": {"InvalidationId": "I1"}, "NoEcho": False}


def test_non_2xx_is_retried_until_accepted(caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([403, 500, 200])
    sent: list[bytes] = []
    sleeps: list[float] = []

    def send(url: str, payload: bytes) -> int:
        sent.append(payload)
        return next(answers)

    assert deliver(URL, BODY, send=send, sleep=sleeps.append) is True
    assert len(sent) == 3 and json.loads(sent[-1])["Status"] == "SUCCESS"
    assert sleeps == [0.5, 1.0]


def test_a_lost_response_gives_up_after_bounded_tries_and_says_so_loudly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def send(url: str, payload: bytes) -> int:
        raise ConnectionResetError(f"reset while talking to {url}")

    assert deliver(URL, BODY, send=send, sleep=lambda _s: None, attempts=4) is False
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1 and critical[0].msg["event"] == "response_lost"
    assert "topsecret" not in caplog.text and "cfn.example" not in caplog.text
    assert "<ResponseURL>" in caplog.text


def test_body_is_cut_to_cloudformations_limit() -> None:
    huge = {**BODY, "Reason": "x" * 10_000, "Data": {"k": "v" * 5000}}
    fitted = fit_body(huge)
    assert len(json.dumps(fitted).encode()) <= MAX_BODY_BYTES
    assert fitted["Reason"].endswith("(truncated)")


def test_many_invalidation_ids_are_cut_and_flagged() -> None:
    ids = [f"I{n:013d}" for n in range(400)]
    data = response_data(invalidation_ids=ids, caller_references=["ref"] * 400, status="Completed",
                         distribution_ids=["E1"], path_count=1_000_000)
    assert len(json.dumps(data)) < 3000
    assert data["InvalidationIdsTruncated"] == "true"
    assert data["InvalidationCount"] == "400" and data["InvalidationId"] == ids[0]
    kept = data["InvalidationIds"].split(",")
    assert kept == ids[: len(kept)] and len(kept) > 50

"""Answering CloudFormation: bodies that fit, bounded retries, no URL in logs."""

from __future__ import annotations

import json

import pytest

from cloudfront_purge.function.responder import (
    MAX_BODY_BYTES,
    MAX_REASON_CHARS,
    deliver,
    fit_body,
    response_data,
)
from tests.support.fakes import lambda_json_logs
from tests.support.handler import ATTRIBUTES

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


def test_a_lost_response_gives_up_after_bounded_tries_and_says_so_loudly() -> None:
    def send(url: str, payload: bytes) -> int:
        raise ConnectionResetError(f"reset while talking to {url}")

    with lambda_json_logs() as logs:
        assert deliver(URL, BODY, send=send, sleep=lambda _s: None, attempts=4) is False
    (lost,) = logs.events("response_lost")
    assert lost["level"] == "CRITICAL" and lost["attempts"] == 4
    assert lost["problem"] == "ConnectionResetError: reset while talking to <ResponseURL>"
    assert lost["status"] == "SUCCESS" and lost["physical_resource_id"] == "P"
    assert [r["attempt"] for r in logs.events("response_retry")] == [1, 2, 3, 4]
    text = "".join(logs.lines)
    assert "topsecret" not in text and "cfn.example" not in text


def test_a_delivered_response_is_logged_with_its_fields() -> None:
    with lambda_json_logs() as logs:
        assert deliver(URL, {**BODY, "Status": "FAILED", "Reason": "r" * 2000}, send=lambda _u, _p: 200) is True
    (done,) = logs.events("responded")
    assert done["http_status"] == 200 and done["status"] == "FAILED"
    assert done["reason"].endswith(" ...(truncated)") and len(done["reason"]) == MAX_REASON_CHARS


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


def test_every_attribute_is_answered_and_a_problem_unconfirms_the_purge() -> None:
    attrs = ATTRIBUTES
    fine = response_data(invalidation_ids=["I1"], caller_references=["r"], status="Completed",
                         distribution_ids=["E1"], path_count=1)
    assert set(fine) == attrs
    assert (fine["PurgeConfirmed"], fine["PurgeProblem"]) == ("true", "")
    bad = response_data(invalidation_ids=[], caller_references=[], status="Unconfirmed",
                        distribution_ids=["E1"], path_count=1, problem="x" * 1000)
    assert set(bad) == attrs and bad["PurgeConfirmed"] == "false"
    assert len(bad["PurgeProblem"]) == 300 and bad["PurgeProblem"].endswith(" ...")

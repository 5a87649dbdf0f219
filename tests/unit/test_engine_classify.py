"""The engine's closed sets and pure parts: error verdicts as a table, states and events as
the strings logs and attributes carry, and the distribution-or-tenant calls checked against
botocore's own model of CloudFront."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from cloudfront_purge import engine
from cloudfront_purge.engine._errors import Verdict, classify
from cloudfront_purge.engine._target import DISTRIBUTION, TENANT, target_kind
from cloudfront_purge.model.errors import AwsError


def error(code: str, status: int = 400, message: str = "") -> AwsError:
    return AwsError(code=code, message=message or code, http_status=status, operation="CreateInvalidation")


# (code, HTTP status, message, raised by CreateInvalidation?) -> what the engine does.
VERDICTS = [
    ("Throttling", 400, "Rate exceeded", False, Verdict.RETRY),
    ("Throttling", 400, "Rate exceeded", True, Verdict.RETRY),
    ("ThrottlingException", 400, "", False, Verdict.RETRY),
    ("RequestLimitExceeded", 400, "", True, Verdict.RETRY),
    ("TooManyRequestsException", 429, "", False, Verdict.RETRY),
    ("ServiceUnavailable", 503, "", True, Verdict.RETRY),
    ("InternalError", 400, "", False, Verdict.RETRY),
    ("InternalFailure", 500, "", False, Verdict.RETRY),
    ("RequestTimeout", 400, "", True, Verdict.RETRY),
    ("RequestTimeoutException", 408, "", False, Verdict.RETRY),
    # Any 5xx is transient, whatever its code.
    ("SomethingNew", 502, "", False, Verdict.RETRY),
    ("NoSuchDistribution", 500, "", True, Verdict.RETRY),
    ("AccessDenied", 403, "not authorized", True, Verdict.WAIT_FOR_IAM),
    ("AccessDenied", 403, "not authorized", False, Verdict.WAIT_FOR_IAM),
    ("NoSuchInvalidation", 404, "", False, Verdict.NOT_VISIBLE_YET),
    ("TooManyInvalidationsInProgress", 400, "", True, Verdict.BLOCKED),
    ("InvalidationBatchAlreadyExists", 409, "", True, Verdict.ADOPT),
    ("InvalidArgument", 400, "Your request contains a caller reference that was used", True, Verdict.ADOPT),
    ("InvalidArgument", 400, "CALLER REFERENCE reused", True, Verdict.ADOPT),
    # Only CreateInvalidation's answers block or adopt; from a read they are terminal.
    ("TooManyInvalidationsInProgress", 400, "", False, Verdict.FAIL),
    ("InvalidationBatchAlreadyExists", 409, "", False, Verdict.FAIL),
    ("InvalidArgument", 400, "Your request contains a caller reference that was used", False, Verdict.FAIL),
    ("InvalidArgument", 400, "Path /a b is not valid", True, Verdict.FAIL),
    ("NoSuchDistribution", 404, "", True, Verdict.FAIL),
    ("EntityNotFound", 404, "", True, Verdict.FAIL),
    ("BatchTooLarge", 413, "", True, Verdict.FAIL),
    ("InconsistentQuantities", 400, "", True, Verdict.FAIL),
    ("MissingBody", 400, "", True, Verdict.FAIL),
    ("Unknown", 0, "", False, Verdict.FAIL),
]


@pytest.mark.parametrize(("code", "status", "message", "creating", "verdict"), VERDICTS)
def test_an_aws_error_is_classified(code: str, status: int, message: str, creating: bool, verdict: Verdict) -> None:
    assert classify(error(code, status, message), creating=creating) is verdict


def test_every_retryable_code_and_every_verdict_is_in_the_table() -> None:
    assert {row[0] for row in VERDICTS if row[4] is Verdict.RETRY} >= engine.RETRYABLE_CODES
    assert {row[4] for row in VERDICTS} == set(Verdict)


def test_states_and_events_are_the_strings_logs_and_attributes_carry() -> None:
    assert [str(s) for s in engine.JobState] == ["Pending", "Blocked", "InProgress", "Completed", "Failed"]
    assert json.dumps({"Status": engine.JobState.IN_PROGRESS}) == '{"Status": "InProgress"}'
    assert f"{engine.Event.WAITING_FOR_IAM}" == "waiting_for_iam"
    assert (engine.COMPLETED, engine.IN_PROGRESS) == ("Completed", "InProgress")
    assert engine.is_completed("COMPLETED") and engine.is_in_progress("InProgress")


@pytest.mark.parametrize("name", [e.value for e in engine.Event if e is not engine.Event.RETRY])
def test_a_reported_name_reads_back_as_its_event(name: str) -> None:
    assert engine.Event.of(name) is engine.Event(name)


def test_a_retry_is_reported_with_its_code_and_reads_back_as_retry() -> None:
    assert engine.Event.retry("Throttling") == "retry:Throttling"
    assert engine.Event.of("retry:EndpointConnectionError") is engine.Event.RETRY
    with pytest.raises(ValueError, match="retrying"):
        engine.Event.of("retrying")


# --- distribution or tenant: the operations and id parameters botocore's model accepts ----------

def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("cloudfront", region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    return client, Stubber(client)


INVALIDATION = {"Id": "I1", "Status": "InProgress", "CreateTime": datetime(2026, 1, 1, tzinfo=UTC),
                "InvalidationBatch": {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "ref"}}
BATCH: Any = {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "ref"}


# The models differ even in MaxItems' type: a string for a distribution, an integer for a tenant.
@pytest.mark.parametrize(("tenant", "create", "get", "listing", "target_param", "get_param", "max_items"), [
    (False, "create_invalidation", "get_invalidation", "list_invalidations", "DistributionId", "DistributionId",
     "100"),
    (True, "create_invalidation_for_distribution_tenant", "get_invalidation_for_distribution_tenant",
     "list_invalidations_for_distribution_tenant", "Id", "DistributionTenantId", 100),
])
def test_each_target_kind_makes_its_own_calls_with_its_id_parameter(
        tenant: bool, create: str, get: str, listing: str, target_param: str, get_param: str,
        max_items: str | int) -> None:
    kind = target_kind(tenant)
    assert kind is (TENANT if tenant else DISTRIBUTION)
    client, stub = stubbed()
    target = "dt_a1" if tenant else "E1"
    stub.add_response(create, {"Location": "https://x", "Invalidation": INVALIDATION},
                      {target_param: target, "InvalidationBatch": BATCH})
    stub.add_response(get, {"Invalidation": INVALIDATION}, {get_param: target, "Id": "I1"})
    summary = {"Id": "I1", "CreateTime": INVALIDATION["CreateTime"], "Status": "InProgress"}
    stub.add_response(listing, {"InvalidationList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 1, "Items": [summary]}},
        {target_param: target, "MaxItems": max_items})
    with stub:
        assert kind.create(client, target, BATCH)["Invalidation"]["Id"] == "I1"
        assert kind.get(client, target, "I1")["Invalidation"]["Id"] == "I1"
        assert [i["Id"] for i in engine.list_invalidations(client, target, tenant=tenant)] == ["I1"]
    stub.assert_no_pending_responses()

"""The handler's prune glue never lets a prune fail a deploy, and fills every attribute."""

from __future__ import annotations

from typing import Any

import pytest

from cloudfront_purge.model import prune
from cloudfront_purge.prune import step as prune_step

PROPS = {"PruneBucket": "site", "OnlyChanged": "true", "Manifest": "s3://assets/v2.cfpurge-manifest"}


def event() -> dict[str, Any]:
    return {"RequestType": "Update", "StackId": "arn:aws:cloudformation:us-east-1:1:stack/s/x",
            "LogicalResourceId": "Purge", "ResourceProperties": PROPS,
            "OldResourceProperties": PROPS}


def test_an_unexpected_error_is_a_failed_prune_not_a_failed_deploy() -> None:
    def broken() -> Any:
        raise RuntimeError("no S3 client today")

    data = prune_step.after_purge(event(), prune_step.parse(PROPS), broken, rollback=False,
                                  stop_at=None, physical_id="Purge-1")
    assert data[prune.ATTR_PRUNE_STATUS] in (prune.STATUS_FAILED,)
    assert "no S3 client today" in data[prune.ATTR_PRUNE_PROBLEM]


def test_every_success_of_a_pruning_resource_carries_every_prune_attribute() -> None:
    data: dict[str, str] = {}
    prune_step.complete(data, {**PROPS, "OnTimeout": "succeed"})
    assert set(data) == {*prune.ATTRIBUTES, prune.ATTR_WARNING}
    assert data[prune.ATTR_PRUNE_STATUS] == prune.STATUS_SKIPPED
    untouched: dict[str, str] = {}
    prune_step.complete(untouched, {"DistributionIds": ["E1"]})
    assert untouched == {}


def test_a_delete_never_fails_for_its_prune_state(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> Any:
        raise RuntimeError("no S3 client today")

    delete = {**event(), "RequestType": "Delete", "PhysicalResourceId": "Purge-1"}
    prune_step.deleted(delete, broken)  # logged, not raised: the Delete answers SUCCESS
    (line,) = [r for r in caplog.records if r.getMessage() == "prune_state_not_removed"]
    assert line.levelname == "WARNING" and "no S3 client today" in line.problem
    caplog.clear()
    # Properties whose prune never ran: no state of its own, no S3 call, nothing logged.
    prune_step.deleted({**delete, "ResourceProperties": {"PruneBucket": "Not_A_Bucket"}}, broken)
    assert caplog.records == []

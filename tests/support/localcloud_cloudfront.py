"""Helpers shared by the local CloudFront's tests (tests/localcloud; not a test module)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from botocore.exceptions import ClientError

SHORT = 0.3  # seconds an invalidation stays InProgress in most tests


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> float:
    """Poll ``predicate`` until true; fail after ``timeout``. Returns the time waited."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(step)
    return time.monotonic() - start


def batch(paths: Sequence[str], ref: str, quantity: int | None = None) -> dict[str, Any]:
    return {
        "Paths": {"Quantity": len(paths) if quantity is None else quantity, "Items": list(paths)},
        "CallerReference": ref,
    }


def create(
    client: Any, dist: str, paths: Sequence[str], ref: str, quantity: int | None = None
) -> Any:
    return client.create_invalidation(
        DistributionId=dist, InvalidationBatch=batch(paths, ref, quantity)
    )


def create_for_tenant(client: Any, tenant: str, paths: Sequence[str], ref: str) -> Any:
    return client.create_invalidation_for_distribution_tenant(
        Id=tenant, InvalidationBatch=batch(paths, ref)
    )


def status_of(client: Any, dist: str, invalidation_id: str) -> str:
    return str(
        client.get_invalidation(DistributionId=dist, Id=invalidation_id)["Invalidation"]["Status"]
    )


def error_of(call: Callable[[], Any]) -> tuple[str, str, int]:
    """(code, message, HTTP status) of the ClientError the call raises."""
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )

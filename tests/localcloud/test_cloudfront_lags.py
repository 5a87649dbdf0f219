"""The local CloudFront's propagation faults: IAM that lags and reads that lag.

A new role policy can take seconds to apply (aws-cdk issues 37675, 21332), and a
GetInvalidation right after CreateInvalidation can answer NoSuchInvalidation. Both are
switched on per distribution or tenant (or for all) through ``faults``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.localcloud_cloudfront import (
    create,
    create_for_tenant,
    error_of,
    wait_until,
)

INVALIDATION_CALLS = ("create", "get", "list")


def call(client: Any, dist: str, which: str, invalidation_id: str = "I1") -> Any:
    if which == "create":
        return create(client, dist, ["/lag"], f"lag-{time.monotonic_ns()}")
    if which == "get":
        return client.get_invalidation(DistributionId=dist, Id=invalidation_id)
    return client.list_invalidations(DistributionId=dist)


def granted(client: Any, dist: str, which: str, invalidation_id: str = "I1") -> bool:
    """Whether the call gets past IAM now (any answer but AccessDenied)."""
    try:
        call(client, dist, which, invalidation_id)
    except client.exceptions.AccessDenied:
        return False
    return True


# IAM propagation lag -------------------------------------------------------------------------


def test_iam_lag_denies_every_invalidation_call_then_lets_them_through(cf, client, dist):
    earlier = create(client, dist, ["/before"], "before")["Invalidation"]["Id"]
    other = cf.create_distribution("other")
    cf.faults.deny(other)
    deny_text = error_of(lambda: call(client, other, "list"))[1]
    cf.faults.clear()

    cf.faults.iam_lag(dist, seconds=3.0)  # long enough for three calls on a busy machine
    for which in INVALIDATION_CALLS:
        code, message, status = error_of(lambda w=which: call(client, dist, w, earlier))
        assert (code, status) == ("AccessDenied", 403)
        # The same wording as a missing grant: nothing tells the two apart but time.
        assert (
            message.replace(dist, "X").split("cloudfront:")[0]
            == deny_text.replace(other, "X").split("cloudfront:")[0]
        )
        assert f":distribution/{dist} " in message
    create(client, other, ["/a"], "unaffected")
    wait_until(lambda: granted(client, dist, "list"), timeout=60)
    for which in INVALIDATION_CALLS:
        call(client, dist, which, earlier)


def test_iam_lag_is_counted_from_the_first_call_not_from_when_it_is_set(cf, client, dist):
    cf.faults.iam_lag(dist, seconds=0.2)
    time.sleep(0.4)  # longer than the lag, but no call has been made yet
    assert error_of(lambda: call(client, dist, "create"))[0] == "AccessDenied"
    wait_until(lambda: granted(client, dist, "create"))


def test_iam_lag_until_a_time_and_for_every_distribution(cf, client, dist):
    other = cf.create_distribution("other")
    cf.faults.iam_lag(None, until=time.time() + 3600)
    for target in (dist, other):
        assert error_of(lambda t=target: call(client, t, "list"))[0] == "AccessDenied"
    cf.faults.iam_lag(None, until=time.time() - 1)  # a time already past: granted
    call(client, dist, "list")


def test_iam_lag_covers_tenant_operations(cf, client):
    tenant = cf.create_distribution_tenant(domain="lag.example.com")
    cf.faults.iam_lag(tenant, seconds=3600)
    code, message, status = error_of(lambda: create_for_tenant(client, tenant, ["/a"], "r"))
    assert (code, status) == ("AccessDenied", 403)
    assert f":distribution-tenant/{tenant} " in message
    cf.faults.clear()
    create_for_tenant(client, tenant, ["/a"], "r")


def test_iam_lag_arguments_are_checked(cf):
    with pytest.raises(ValueError, match="exactly one of seconds and until"):
        cf.faults.iam_lag("E1", seconds=1, until=time.time())
    with pytest.raises(ValueError, match="exactly one of seconds and until"):
        cf.faults.iam_lag("E1")
    with pytest.raises(ValueError, match="negative"):
        cf.faults.iam_lag("E1", seconds=-1)
    with pytest.raises(ValueError, match="negative"):
        cf.faults.read_lag(-1)


# Eventual consistency after create -----------------------------------------------------------


def test_a_new_invalidation_is_not_found_at_first(cf, client, dist):
    cf.faults.read_lag(3600, dist)
    inv = create(client, dist, ["/a"], "fresh")["Invalidation"]
    code, _, status = error_of(lambda: call(client, dist, "get", inv["Id"]))
    assert (code, status) == ("NoSuchInvalidation", 404)
    # It exists: the list shows it, and the same reference gives it back.
    listed = client.list_invalidations(DistributionId=dist)["InvalidationList"]["Items"]
    assert [item["Id"] for item in listed] == [inv["Id"]]
    assert create(client, dist, ["/a"], "fresh")["Invalidation"]["Id"] == inv["Id"]
    other = cf.create_distribution("other")
    found = create(client, other, ["/a"], "elsewhere")["Invalidation"]["Id"]
    call(client, other, "get", found)  # only the named distribution lags


def test_a_new_invalidation_is_found_once_the_lag_has_passed(cf, client, dist):
    cf.faults.read_lag(0.2)

    def found(invalidation_id: str) -> bool:
        try:
            call(client, dist, "get", invalidation_id)
        except client.exceptions.NoSuchInvalidation:
            return False
        return True

    inv = create(client, dist, ["/a"], "soon")["Invalidation"]
    wait_until(lambda: found(inv["Id"]))
    cf.faults.clear()
    assert found(create(client, dist, ["/b"], "no-lag")["Invalidation"]["Id"])


def test_read_lag_covers_tenant_operations(cf, client):
    tenant = cf.create_distribution_tenant(domain="read.example.com")
    cf.faults.read_lag(3600, tenant)
    inv = create_for_tenant(client, tenant, ["/a"], "r")["Invalidation"]
    code, _, status = error_of(
        lambda: client.get_invalidation_for_distribution_tenant(
            DistributionTenantId=tenant, Id=inv["Id"]
        )
    )
    assert (code, status) == ("NoSuchInvalidation", 404)
